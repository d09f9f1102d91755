using Quanta.Conversion.GemmaInt8;

namespace Quanta.Store;

/// <summary>Where a FROM (or ADAPTER, DRAFT) line points: a file, or a model already in the store.</summary>
public abstract record ModelSource
{
    /// <summary>A GGUF file (or the first shard of a split set).</summary>
    public sealed record GgufFileSource(string Path) : ModelSource;

    /// <summary>A Hugging Face checkpoint directory (config.json and *.safetensors), converted in one pass.</summary>
    public sealed record CheckpointSource(string Directory) : ModelSource;

    /// <summary>A gemma_pytorch int8 checkpoint (a <c>*.ckpt</c>, or a directory holding one and its tokenizer.model), converted in one pass.</summary>
    public sealed record GemmaInt8Source(string Path) : ModelSource;

    /// <summary>A model in the store, by name.</summary>
    public sealed record StoredModelSource(ModelName Name) : ModelSource;

    /// <summary>
    /// Ollama's rule: a value that names an existing path (after <c>~</c> expansion, relative to the
    /// Modelfile's directory) is a file or directory; anything else is a model name.
    /// </summary>
    /// <exception cref="ModelfileException">The value is neither an existing path nor a valid model name, or names a source Quanta cannot read yet.</exception>
    public static ModelSource Resolve(string value, string baseDirectory, int line, string command = "FROM")
    {
        ArgumentNullException.ThrowIfNull(value);
        var path = ExpandPath(value, baseDirectory);
        if (File.Exists(path))
        {
            if (GemmaInt8Conversion.IsCheckpoint(path))
            {
                return command == "FROM"
                    ? new GemmaInt8Source(path)
                    : throw new ModelfileException(line, $"{command} {value}: a gemma_pytorch checkpoint can only be used with FROM; convert it to GGUF first");
            }
            return new GgufFileSource(path);
        }
        if (Directory.Exists(path))
        {
            return FromDirectory(path, line, command);
        }
        if (LooksLikePath(value) || command != "FROM")
        {
            throw new ModelfileException(line, $"{command} {value}: no such file or directory");
        }
        try
        {
            return new StoredModelSource(ModelName.Parse(value));
        }
        catch (FormatException e)
        {
            throw new ModelfileException(line, $"{command} {value}: not a file, and {e.Message}");
        }
    }

    /// <summary>
    /// A directory: a Hugging Face checkpoint (config.json with *.safetensors) or a gemma_pytorch int8 checkpoint
    /// (*.ckpt) to convert, or the GGUF inside it. Other PyTorch checkpoints (*.pth, pytorch_model*.bin) are refused.
    /// </summary>
    static ModelSource FromDirectory(string directory, int line, string command)
    {
        var safetensors = Directory.EnumerateFiles(directory, "*.safetensors").Any();
        var hasConfig = File.Exists(Path.Combine(directory, "config.json"));
        if (safetensors || hasConfig)
        {
            if (command != "FROM")
            {
                throw new ModelfileException(line, $"{command} {directory}: a Hugging Face checkpoint can only be used with FROM; convert it to GGUF first");
            }
            if (!hasConfig)
            {
                throw new ModelfileException(line, $"{command} {directory}: *.safetensors without config.json; a Hugging Face checkpoint needs both");
            }
            if (!safetensors)
            {
                var pytorch = Directory.EnumerateFiles(directory, "*.pth").Any() || Directory.EnumerateFiles(directory, "pytorch_model*.bin").Any();
                throw new ModelfileException(line, pytorch
                    ? $"{command} {directory}: PyTorch checkpoints (*.pth, pytorch_model*.bin) are not supported by create yet; use a safetensors checkpoint or a GGUF file"
                    : $"{command} {directory}: config.json but no *.safetensors; a Hugging Face checkpoint needs both");
            }
            return new CheckpointSource(directory);
        }
        if (GemmaInt8Conversion.IsCheckpoint(directory))
        {
            return command == "FROM"
                ? new GemmaInt8Source(directory)
                : throw new ModelfileException(line, $"{command} {directory}: a gemma_pytorch checkpoint can only be used with FROM; convert it to GGUF first");
        }
        if (Directory.EnumerateFiles(directory, "*.pth").Any() || Directory.EnumerateFiles(directory, "pytorch_model*.bin").Any())
        {
            throw new ModelfileException(line,
                $"{command} {directory}: PyTorch checkpoints are not supported by create yet; convert the model to GGUF first and use FROM with the .gguf file");
        }
        var ggufs = Directory.EnumerateFiles(directory, "*.gguf").Order(StringComparer.Ordinal).ToList();
        return ggufs.Count switch
        {
            0 => throw new ModelfileException(line, $"{command} {directory}: no GGUF file in this directory"),
            1 => new GgufFileSource(ggufs[0]),
            _ => throw new ModelfileException(line, $"{command} {directory}: {ggufs.Count} GGUF files in this directory; name the one to use (a projector goes on a second FROM line)"),
        };
    }

    static bool LooksLikePath(string value) =>
        value.StartsWith('.') || value.StartsWith('/') || value.StartsWith('~') || value.StartsWith('\\')
        || value.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) || value.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)
        || value.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || value.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase);

    /// <summary>Ollama's <c>expandPath</c>: absolute stays, <c>~</c> and <c>~/x</c> are the home directory, the rest is relative to the Modelfile.</summary>
    public static string ExpandPath(string value, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (Path.IsPathRooted(value))
        {
            return Path.GetFullPath(value);
        }
        if (value == "~" || value.StartsWith("~/", StringComparison.Ordinal))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.GetFullPath(Path.Combine(home, value.Length > 2 ? value[2..] : ""));
        }
        return Path.GetFullPath(Path.Combine(baseDirectory, value));
    }
}
