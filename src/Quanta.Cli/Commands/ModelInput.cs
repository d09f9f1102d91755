using Quanta.Cli.Interactive;
using Quanta.Conversion;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;
using Quanta.Store;

namespace Quanta.Cli.Commands;

/// <summary>
/// What <c>eval</c>, <c>plan</c> and <c>optimize</c> take as a model: a GGUF file, the name of a model in the store
/// (resolved to its model blob as <c>run</c> and <c>show</c> resolve names: a path that exists or ends in .gguf is
/// a file, anything else a name), or a Hugging Face checkpoint directory, seen through the converter.
/// </summary>
internal static class ModelInput
{
    /// <summary>Whether <paramref name="input"/> is a checkpoint directory (a folder with a config.json).</summary>
    public static bool IsCheckpoint(string input) => Directory.Exists(input) && File.Exists(Path.Combine(input, "config.json"));

    /// <summary>The GGUF file of a path or a stored model's name.</summary>
    /// <exception cref="UserErrorException">No such file or model; a directory that is not a checkpoint.</exception>
    public static string GgufPath(string input, Func<ModelStore> store)
    {
        if (RunModel.IsFile(input))
        {
            InputFile.Require(input, ".gguf file");
            return input;
        }
        if (Directory.Exists(input))
        {
            throw new UserErrorException($"{input}: is a directory; give a .gguf file, a model name or (for the base) a checkpoint folder with config.json");
        }
        if (!ModelName.TryParse(input, out _))
        {
            throw new UserErrorException($"{input}: no such file, and not a model name");
        }
        try
        {
            return StoredModel.Load(store(), StoreArguments.Name(input)).ModelPath;
        }
        catch (ModelNotFoundException e)
        {
            throw new UserErrorException($"{input}: no such file, and {e.Message}", e);
        }
    }

    /// <summary>Opens a checkpoint directory as the converter sees it, with its tokenizer.</summary>
    public static ConvertedModel OpenCheckpoint(string directory) => ConvertedModel.Open(directory, ConvertCommand.TokenizerSource);

    /// <summary>
    /// Converts a checkpoint to the converter's own 16-bit type (<c>--outtype auto</c>: f16 from float16 weights,
    /// else bf16) at <paramref name="path"/>: the base <c>eval</c> and <c>optimize</c> read.
    /// </summary>
    public static string ConvertCheckpoint(string directory, string path, int threads, CancellationToken cancellationToken)
    {
        using var model = OpenCheckpoint(directory);
        if (model.TokenizerKeys is null)
        {
            throw new UserErrorException($"{directory}: no tokenizer beside the checkpoint; the text cannot be tokenized");
        }
        var job = CheckpointConversion.CreateJob(model, model.AutoOutputType, path, new QuantizerOptions { Threads = threads });
        Quantizer.Run(job, null, cancellationToken);
        return path;
    }

    /// <summary>The tensors and metadata a checkpoint's conversion holds (as f32), for sizing presets without converting.</summary>
    public static ITensorSource CheckpointSource(ConvertedModel model) =>
        model.AsPresetSource(model.CreateMetadata((uint)LlamaFileType.AllF32));
}
