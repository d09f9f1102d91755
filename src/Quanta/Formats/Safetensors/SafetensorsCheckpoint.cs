using System.Text.Json;

namespace Quanta.Formats.Safetensors;

/// <summary>
/// The weights of a Hugging Face checkpoint directory: <c>model.safetensors</c>, or the shards a
/// <c>model.safetensors.index.json</c> lists, or else every <c>model*.safetensors</c>. Tensors come file by
/// file in file-name order and by name within a file, which is the order llama.cpp's converter visits them.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    public const string IndexFileName = "model.safetensors.index.json";

    readonly SafetensorsFile[] _files;
    readonly Dictionary<string, SafetensorsTensor> _byName;

    SafetensorsCheckpoint(string directory, SafetensorsFile[] files, List<SafetensorsTensor> tensors)
    {
        Directory = directory;
        _files = files;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Directory { get; }

    public IReadOnlyList<SafetensorsFile> Files => _files;

    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    public SafetensorsTensor? FindTensor(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Opens the weights of <paramref name="directory"/>; a malformed file or index is a <see cref="SafetensorsFormatException"/>.</summary>
    public static SafetensorsCheckpoint Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var indexPath = Path.Combine(directory, IndexFileName);
        Dictionary<string, string>? weightMap = null;
        string[] names;
        if (File.Exists(indexPath))
        {
            weightMap = ReadWeightMap(indexPath);
            names = [.. weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            foreach (var name in names)
            {
                if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || name is "." or "..")
                {
                    throw new SafetensorsFormatException(indexPath, -1, $"weight_map names the file '{name}', which is not in the checkpoint's directory");
                }
            }
        }
        else
        {
            names = [.. System.IO.Directory.EnumerateFiles(directory, "model*.safetensors")
                .Select(p => Path.GetFileName(p))
                .Order(StringComparer.Ordinal)];
            if (names.Length == 0)
            {
                throw new FileNotFoundException($"{directory}: no model.safetensors, {IndexFileName} or model*.safetensors (only safetensors checkpoints are supported)");
            }
        }

        var files = new List<SafetensorsFile>();
        try
        {
            var tensors = new List<SafetensorsTensor>();
            var owner = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                var path = Path.Combine(directory, name);
                if (!File.Exists(path))
                {
                    throw new SafetensorsFormatException(indexPath, -1, $"weight_map names '{name}', which does not exist");
                }
                var file = SafetensorsFile.Open(path);
                files.Add(file);
                foreach (var tensor in file.Tensors)
                {
                    if (!owner.TryAdd(tensor.Name, name))
                    {
                        throw new SafetensorsFormatException(path, -1, $"tensor '{tensor.Name}' is also in '{owner[tensor.Name]}'");
                    }
                    tensors.Add(tensor);
                }
            }
            if (weightMap is not null)
            {
                // The converter refuses a checkpoint whose index and shards disagree; a partial download looks like that.
                foreach (var (tensor, file) in weightMap)
                {
                    if (!owner.TryGetValue(tensor, out var actual))
                    {
                        throw new SafetensorsFormatException(indexPath, -1, $"weight_map lists tensor '{tensor}' in '{file}', but no shard holds it");
                    }
                    if (actual != file)
                    {
                        throw new SafetensorsFormatException(indexPath, -1, $"weight_map puts tensor '{tensor}' in '{file}', but it is in '{actual}'");
                    }
                }
                var extra = owner.Keys.FirstOrDefault(k => !weightMap.ContainsKey(k));
                if (extra is not null)
                {
                    throw new SafetensorsFormatException(indexPath, -1, $"tensor '{extra}' in '{owner[extra]}' is missing from weight_map");
                }
            }
            return new SafetensorsCheckpoint(directory, [.. files], tensors);
        }
        catch
        {
            foreach (var file in files)
            {
                file.Dispose();
            }
            throw;
        }
    }

    static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        try
        {
            using var stream = File.OpenRead(indexPath);
            if (stream.Length > SafetensorsFile.MaxHeaderBytes)
            {
                throw new SafetensorsFormatException(indexPath, -1, $"the index is {stream.Length} bytes; at most {SafetensorsFile.MaxHeaderBytes} are accepted");
            }
            using var document = JsonDocument.Parse(stream);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
            {
                throw new SafetensorsFormatException(indexPath, -1, "expected a JSON object with a weight_map object");
            }
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(entry.Value.GetString()))
                {
                    throw new SafetensorsFormatException(indexPath, -1, $"weight_map entry '{entry.Name}' is not a file name");
                }
                if (!result.TryAdd(entry.Name, entry.Value.GetString()!))
                {
                    throw new SafetensorsFormatException(indexPath, -1, $"weight_map lists tensor '{entry.Name}' twice");
                }
            }
            return result;
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(indexPath, -1, $"not valid JSON: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }
}
