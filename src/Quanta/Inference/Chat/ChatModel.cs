using System.Diagnostics;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;
using Quanta.Inference.Vision;

namespace Quanta.Inference.Chat;

/// <summary>
/// A GGUF model loaded to chat with: the file (mapped, kept open), its forward pass, its tokenizer and its
/// <c>tokenizer.chat_template</c>, and its vision tower when it has one (Ollama's single-file gemma3) or is given a
/// projector file (<c>mmproj-*.gguf</c>, a stored model's projector layer). One conversation at a time uses it
/// (<see cref="ChatSession"/>); the KV cache of the forward pass is that conversation's.
/// </summary>
public sealed class ChatModel : IDisposable
{
    readonly GgufFile _file;
    readonly GgufFile? _projectorFile;

    ChatModel(string path, GgufFile file, LlamaModel model, Tokenizer tokenizer, int threads, long loadNanoseconds, GgufFile? projectorFile, VisionModel? vision)
    {
        _projectorFile = projectorFile;
        Vision = vision;
        Path = path;
        _file = file;
        Model = model;
        Tokenizer = tokenizer;
        Threads = threads;
        LoadDuration = loadNanoseconds;
        ChatTemplate = file.Metadata.LenientString("tokenizer.chat_template");
    }

    /// <summary>The GGUF file.</summary>
    public string Path { get; }

    /// <summary>The forward pass.</summary>
    public LlamaModel Model { get; }

    /// <summary>The vision tower and projector that turn pictures into embeddings for <see cref="Model"/>, or null.</summary>
    public VisionModel? Vision { get; }

    /// <summary>The projector file in use (null: none, or the model file's own tower).</summary>
    public string? ProjectorPath => _projectorFile?.Path;

    public Tokenizer Tokenizer { get; }

    /// <summary>The threads the forward pass runs on.</summary>
    public int Threads { get; }

    /// <summary>The file's Jinja chat template, or null.</summary>
    public string? ChatTemplate { get; }

    /// <summary>The context the model was trained with (<c>{arch}.context_length</c>); 0 when the file does not say.</summary>
    public int TrainingContextLength => Model.Hyperparameters.ContextLength;

    /// <summary>The session whose tokens the KV cache holds (another session must not reuse them).</summary>
    internal object? CacheOwner { get; set; }

    /// <summary>How long <see cref="Load"/> took, in nanoseconds.</summary>
    public long LoadDuration { get; }

    /// <summary>
    /// Opens and loads <paramref name="path"/> on <paramref name="threads"/> threads (all processors when 0).
    /// </summary>
    /// <exception cref="GgufFormatException">Not a GGUF file, an architecture that cannot run, a missing tensor.</exception>
    /// <exception cref="VocabularyFormatException">The file has no usable tokenizer.</exception>
    public static ChatModel Load(string path, int threads = 0, CancellationToken cancellationToken = default) =>
        Load(path, projectorPath: null, threads, cancellationToken);

    /// <summary>
    /// As <see cref="Load(string, int, CancellationToken)"/>, with the vision projector file <paramref name="projectorPath"/>
    /// (null: the model file's own tower, if it has one).
    /// </summary>
    /// <exception cref="GgufFormatException">Also: a projector that is not a vision file, or whose width is not the model's.</exception>
    public static ChatModel Load(string path, string? projectorPath, int threads, CancellationToken cancellationToken = default) =>
        Load(path, projectorPath, threads, projectorDoesNotFit: null, cancellationToken);

    /// <summary>
    /// As <see cref="Load(string, string, int, CancellationToken)"/>; when <paramref name="projectorDoesNotFit"/> is
    /// given, a projector whose width is not the model's is left out (the model loads without pictures) and the
    /// reason goes to it instead of an exception.
    /// </summary>
    public static ChatModel Load(string path, string? projectorPath, int threads, Action<string>? projectorDoesNotFit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var clock = Stopwatch.StartNew();
        var file = GgufFile.Open(path);
        GgufFile? projectorFile = null;
        VisionModel? vision = null;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = threads > 0 ? threads : Environment.ProcessorCount;
            var model = LlamaModel.Load(file, count);
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                var tokenizer = new Tokenizer(Vocabulary.Load(file));
                if (tokenizer.Vocabulary.Count > model.VocabularySize)
                {
                    throw new GgufFormatException($"{path}: the vocabulary has {tokenizer.Vocabulary.Count} tokens but the model only {model.VocabularySize} rows of embeddings");
                }
                if (projectorPath is not null)
                {
                    projectorFile = GgufFile.Open(projectorPath);
                    if (!VisionHyperparameters.IsVisionFile(projectorFile))
                    {
                        throw new GgufFormatException($"{projectorPath}: not a vision projector file (general.architecture is not clip)");
                    }
                }
                var visionFile = projectorFile ?? (VisionHyperparameters.IsVisionFile(file) ? file : null);
                if (visionFile is not null)
                {
                    vision = VisionModel.Open(visionFile, count);
                    if (vision.EmbeddingLength != model.Hyperparameters.EmbeddingLength)
                    {
                        var reason = $"{visionFile.Path}: the projector writes {vision.EmbeddingLength} columns but the language model's embeddings have {model.Hyperparameters.EmbeddingLength}";
                        if (projectorDoesNotFit is null || projectorFile is null)
                        {
                            throw new GgufFormatException(reason);
                        }
                        vision.Dispose();
                        vision = null;
                        projectorFile.Dispose();
                        projectorFile = null;
                        projectorDoesNotFit(reason);
                    }
                }
                return new ChatModel(path, file, model, tokenizer, count, (long)clock.Elapsed.TotalNanoseconds, projectorFile, vision);
            }
            catch
            {
                vision?.Dispose();
                model.Dispose();
                throw;
            }
        }
        catch
        {
            projectorFile?.Dispose();
            file.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Vision?.Dispose();
        Model.Dispose();
        _projectorFile?.Dispose();
        _file.Dispose();
    }
}
