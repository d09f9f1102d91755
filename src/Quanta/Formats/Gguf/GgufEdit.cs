using System.Globalization;
using System.Text;

namespace Quanta.Formats.Gguf;

/// <summary>
/// Small in-place edits of a GGUF file: set a metadata key, rename a tensor. The file is rewritten beside
/// itself (header changed, tensor bytes copied as they are) and renamed over the original only once the new
/// file is complete on disk, so an error or a crash leaves the original untouched.
/// </summary>
public static class GgufEdit
{
    /// <summary>The type names <see cref="ParseValue"/> accepts, in GGUF's order.</summary>
    public static IReadOnlyList<string> ScalarTypeNames { get; } = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "u64", "i64", "f64"];

    /// <summary>
    /// A value from its type name (u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, bool, str) and text.
    /// Numbers are invariant-culture; bool is <c>true</c>/<c>false</c> (or 1/0).
    /// </summary>
    /// <exception cref="FormatException">Unknown type, or text that is not a value of that type.</exception>
    public static GgufValue ParseValue(string type, string text)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(text);
        var inv = CultureInfo.InvariantCulture;
        const NumberStyles Integer = NumberStyles.AllowLeadingSign;
        const NumberStyles Real = NumberStyles.Float;
        GgufValue? value = type.ToLowerInvariant() switch
        {
            "u8" => byte.TryParse(text, Integer, inv, out var v) ? GgufValue.UInt8(v) : null,
            "i8" => sbyte.TryParse(text, Integer, inv, out var v) ? GgufValue.Int8(v) : null,
            "u16" => ushort.TryParse(text, Integer, inv, out var v) ? GgufValue.UInt16(v) : null,
            "i16" => short.TryParse(text, Integer, inv, out var v) ? GgufValue.Int16(v) : null,
            "u32" => uint.TryParse(text, Integer, inv, out var v) ? GgufValue.UInt32(v) : null,
            "i32" => int.TryParse(text, Integer, inv, out var v) ? GgufValue.Int32(v) : null,
            "u64" => ulong.TryParse(text, Integer, inv, out var v) ? GgufValue.UInt64(v) : null,
            "i64" => long.TryParse(text, Integer, inv, out var v) ? GgufValue.Int64(v) : null,
            "f32" => float.TryParse(text, Real, inv, out var v) ? GgufValue.Float32(v) : null,
            "f64" => double.TryParse(text, Real, inv, out var v) ? GgufValue.Float64(v) : null,
            "bool" => text.Trim().ToLowerInvariant() switch
            {
                "true" or "1" => GgufValue.Bool(true),
                "false" or "0" => GgufValue.Bool(false),
                _ => null,
            },
            "str" => GgufValue.String(text),
            _ => throw new FormatException($"unknown type '{type}'; expected one of {string.Join(", ", ScalarTypeNames)}"),
        };
        return value ?? throw new FormatException($"'{text}' is not a valid {type.ToLowerInvariant()} value");
    }

    /// <summary>
    /// Sets <paramref name="key"/> in the file at <paramref name="path"/>: an existing key keeps its place,
    /// a new one goes last. Returns the old value, or null when the key is new.
    /// </summary>
    /// <exception cref="ArgumentException">The key cannot be set: <c>general.alignment</c> (it moves every tensor),
    /// a <c>split.*</c> key, an empty key, or a file that is one shard of a split set.</exception>
    public static GgufValue? SetKey(string path, string key, GgufValue value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key.Length == 0 || key.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"'{key}' is not a valid key name (empty, or contains white space)", nameof(key));
        }
        if (key == GgufKeys.Alignment)
        {
            throw new ArgumentException($"refusing to change {GgufKeys.Alignment}: it decides where every tensor lies; requantize or convert the model instead", nameof(key));
        }
        if (key.StartsWith("split.", StringComparison.Ordinal))
        {
            throw new ArgumentException($"refusing to set {key}: the split keys describe the shard layout; use 'gguf split' and 'gguf merge'", nameof(key));
        }
        GgufValue? old = null;
        Rewrite(path, file =>
        {
            var metadata = new GgufMetadata(file.Metadata);
            metadata.TryGetValue(key, out old);
            metadata.Replace(key, value);
            return (metadata, file.Tensors.Select(t => t.Info).ToList());
        }, cancellationToken);
        return old;
    }

    /// <summary>Renames tensor <paramref name="oldName"/> to <paramref name="newName"/>; its place, type and bytes stay.</summary>
    /// <exception cref="ArgumentException">No tensor by the old name, the new name is taken or too long, or the file is a shard.</exception>
    public static void RenameTensor(string path, string oldName, string newName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(oldName);
        ArgumentNullException.ThrowIfNull(newName);
        if (newName.Length == 0)
        {
            throw new ArgumentException("the new tensor name is empty", nameof(newName));
        }
        if (Encoding.UTF8.GetByteCount(newName) > GgufTensorInfo.MaxNameBytes)
        {
            throw new ArgumentException($"tensor name '{newName}' is longer than {GgufTensorInfo.MaxNameBytes} bytes, which llama.cpp cannot load", nameof(newName));
        }
        Rewrite(path, file =>
        {
            if (file.FindTensor(oldName) is null)
            {
                throw new ArgumentException($"{path}: no tensor named '{oldName}'", nameof(oldName));
            }
            if (oldName != newName && file.FindTensor(newName) is not null)
            {
                throw new ArgumentException($"{path}: a tensor named '{newName}' already exists", nameof(newName));
            }
            var tensors = file.Tensors
                .Select(t => t.Name == oldName ? new GgufTensorInfo(newName, t.Info.Shape, t.Info.Type) : t.Info)
                .ToList();
            return (new GgufMetadata(file.Metadata), tensors);
        }, cancellationToken);
    }

    /// <summary>
    /// Rewrites a single GGUF file with the header <paramref name="edit"/> returns (the same tensors, in the same
    /// order and of the same sizes), copying every tensor's bytes, then replaces the file atomically.
    /// </summary>
    static void Rewrite(string path, Func<GgufFile, (GgufMetadata Metadata, IReadOnlyList<GgufTensorInfo> Tensors)> edit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        GgufWriter? writer = null;
        try
        {
            using (var file = GgufFile.Open(path))
            {
                if (file.IsSplit || file.Metadata.ContainsKey(GgufKeys.SplitCount))
                {
                    throw new ArgumentException($"{path}: this is a shard of a split set; merge it with 'gguf merge', edit, then split again", nameof(path));
                }
                var (metadata, tensors) = edit(file);
                writer = GgufWriter.Create(path, metadata, tensors, new GgufWriterOptions { CancellationToken = cancellationToken });
                foreach (var tensor in file.Tensors)
                {
                    writer.WriteTensor(tensor);
                }
                writer.Finish();
            }
            // The source's mapping is closed before the rename (Windows cannot replace a mapped file). A stop
            // asked for while the copy was finishing still wins: the file is left as it was.
            cancellationToken.ThrowIfCancellationRequested();
            writer.Publish();
        }
        finally
        {
            writer?.Dispose();
        }
    }
}
