using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;
using Quanta.Inference.Vision;
using Quanta.Store;

namespace Quanta.Cli.Commands;

/// <summary>
/// One side of <c>vision-check</c>: a projector file (vision only), Ollama's single gemma3 file, a text model with its
/// projector (<c>--mmproj</c>), or a model of the store (its weights and projector layer). When the side has a language
/// model that runs, it also gets a <see cref="CaptionProbe"/>.
/// </summary>
internal sealed class VisionCheckSide : IDisposable
{
    readonly List<IDisposable> _owned = [];

    VisionCheckSide()
    {
    }

    public VisionModel Vision { get; private set; } = null!;

    public CaptionProbe? Probe { get; private set; }

    /// <summary>The file the vision tower is read from (the projector, or the single file).</summary>
    public GgufFile VisionFile { get; private set; } = null!;

    /// <param name="fallbackProjector">The projector for a text model that has none of its own (QUANT takes BASE's --mmproj).</param>
    /// <exception cref="UserErrorException">No vision tower to be found, or a projector that does not fit the model.</exception>
    public static VisionCheckSide Open(string input, string? projector, string? fallbackProjector, Func<ModelStore> store, int threads)
    {
        var side = new VisionCheckSide();
        try
        {
            var modelPath = input;
            if (!File.Exists(input) && !input.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
            {
                var stored = StoredModel.Load(store(), StoreArguments.Name(input));
                modelPath = stored.ModelPath;
                projector ??= stored.ProjectorPaths.FirstOrDefault();
            }
            var file = side.Own(Gguf.GgufCommand.Open(modelPath));
            if (projector is null && !VisionHyperparameters.IsVisionFile(file))
            {
                projector = fallbackProjector;
            }
            GgufFile? textFile = null;
            GgufFile visionFile;
            if (projector is not null)
            {
                InputFile.Require(projector, "projector file");
                visionFile = side.Own(Gguf.GgufCommand.Open(projector));
                if (!VisionHyperparameters.IsVisionFile(visionFile))
                {
                    throw new UserErrorException($"{projector}: no vision tower in this file (give the projector, mmproj-*.gguf)");
                }
                textFile = file;
            }
            else if (VisionHyperparameters.IsVisionFile(file))
            {
                visionFile = file;
                // Ollama's single gemma3 file holds the language model too; a clip file holds only the tower.
                textFile = file.Metadata.GetStringOrNull(GgufKeys.Architecture) == "clip" ? null : file;
            }
            else
            {
                throw new UserErrorException($"{input}: no vision tower in this model (give its projector with --mmproj, or the projector file itself)");
            }
            side.VisionFile = visionFile;
            side.Vision = side.Own(VisionModel.Open(visionFile, threads));
            if (textFile is not null)
            {
                var llama = side.Own(LlamaModel.Load(textFile, threads > 0 ? threads : Environment.ProcessorCount));
                if (llama.Hyperparameters.EmbeddingLength != side.Vision.EmbeddingLength)
                {
                    throw new UserErrorException($"{input}: the projector writes {side.Vision.EmbeddingLength} columns but the language model's embeddings have {llama.Hyperparameters.EmbeddingLength}");
                }
                side.Probe = new CaptionProbe(llama, new Tokenizer(Vocabulary.Load(textFile)), side.Vision.Parameters.Projector);
            }
            return side;
        }
        catch
        {
            side.Dispose();
            throw;
        }
    }

    T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
        _owned.Clear();
    }
}
