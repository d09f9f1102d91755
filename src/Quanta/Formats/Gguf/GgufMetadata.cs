using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Quanta.Formats.Gguf;

/// <summary>
/// GGUF key/value metadata in file order. Typed getters check the stored type exactly, as llama.cpp's
/// loader does, so a file Quanta accepts is one llama.cpp accepts.
/// </summary>
public sealed class GgufMetadata : IReadOnlyList<KeyValuePair<string, GgufValue>>
{
    readonly List<KeyValuePair<string, GgufValue>> _entries = [];
    readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public GgufMetadata()
    {
    }

    public GgufMetadata(IEnumerable<KeyValuePair<string, GgufValue>> entries)
    {
        foreach (var (key, value) in entries)
        {
            Add(key, value);
        }
    }

    public int Count => _entries.Count;

    public KeyValuePair<string, GgufValue> this[int index] => _entries[index];

    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    public bool ContainsKey(string key) => _index.ContainsKey(key);

    public bool TryGetValue(string key, [NotNullWhen(true)] out GgufValue? value)
    {
        value = _index.TryGetValue(key, out var i) ? _entries[i].Value : null;
        return value is not null;
    }

    /// <summary>The value of <paramref name="key"/>; a clear error when it is missing.</summary>
    public GgufValue this[string key] =>
        TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"key not found in model: {key}");

    /// <summary>Appends a new key; a key may appear once.</summary>
    public void Add(string key, GgufValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (!_index.TryAdd(key, _entries.Count))
        {
            throw new ArgumentException($"duplicate metadata key '{key}'", nameof(key));
        }
        _entries.Add(new(key, value));
    }

    /// <summary>
    /// Sets a key the way ggml's <c>gguf_set_val_*</c> does: any old entry is removed and the key goes to the
    /// end. llama-quantize relies on that order (<c>general.file_type</c> last), and so do byte-exact outputs.
    /// </summary>
    public void Set(string key, GgufValue value)
    {
        Remove(key);
        Add(key, value);
    }

    /// <summary>Replaces a value where it stands, or appends the key when it is new.</summary>
    public void Replace(string key, GgufValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_index.TryGetValue(key, out var i))
        {
            _entries[i] = new(key, value);
        }
        else
        {
            Add(key, value);
        }
    }

    public bool Remove(string key)
    {
        if (!_index.Remove(key, out var i))
        {
            return false;
        }
        _entries.RemoveAt(i);
        for (var j = i; j < _entries.Count; j++)
        {
            _index[_entries[j].Key] = j;
        }
        return true;
    }

    public byte GetUInt8(string key) => Get(key, GgufValueType.UInt8).AsUInt8();
    public sbyte GetInt8(string key) => Get(key, GgufValueType.Int8).AsInt8();
    public ushort GetUInt16(string key) => Get(key, GgufValueType.UInt16).AsUInt16();
    public short GetInt16(string key) => Get(key, GgufValueType.Int16).AsInt16();
    public uint GetUInt32(string key) => Get(key, GgufValueType.UInt32).AsUInt32();
    public int GetInt32(string key) => Get(key, GgufValueType.Int32).AsInt32();
    public float GetFloat32(string key) => Get(key, GgufValueType.Float32).AsFloat32();
    public bool GetBool(string key) => Get(key, GgufValueType.Bool).AsBool();
    public string GetString(string key) => Get(key, GgufValueType.String).AsString();
    public ulong GetUInt64(string key) => Get(key, GgufValueType.UInt64).AsUInt64();
    public long GetInt64(string key) => Get(key, GgufValueType.Int64).AsInt64();
    public double GetFloat64(string key) => Get(key, GgufValueType.Float64).AsFloat64();
    public GgufArray GetArray(string key) => Get(key, GgufValueType.Array).AsArray();

    /// <summary>The string value of <paramref name="key"/>, or null when absent; a wrong type is still an error.</summary>
    public string? GetStringOrNull(string key) => ContainsKey(key) ? GetString(key) : null;

    // Lenient getters, for code that describes or classifies any file rather than loading it (summaries, show,
    // Ollama's import rules, packaging): a missing key and a value of another type both read as "not there".

    /// <summary>The string value of <paramref name="key"/>; null when it is absent or not a string.</summary>
    public string? LenientString(string key) =>
        TryGetValue(key, out var value) && value.Type == GgufValueType.String ? value.AsString() : null;

    /// <summary>
    /// The value of <paramref name="key"/> when it is an integer of any width or sign; null when it is absent,
    /// not an integer, or a u64 beyond <see cref="long.MaxValue"/>.
    /// </summary>
    public long? LenientInteger(string key) =>
        TryGetValue(key, out var value) && value.TryGetInteger(out var n) ? n : null;

    /// <summary>The value of <paramref name="key"/> when it is an f32 or f64; null otherwise.</summary>
    public double? LenientFloat(string key) =>
        !TryGetValue(key, out var value) ? null
        : value.Type == GgufValueType.Float32 ? value.AsFloat32()
        : value.Type == GgufValueType.Float64 ? value.AsFloat64()
        : null;

    GgufValue Get(string key, GgufValueType expected)
    {
        var value = this[key];
        if (value.Type != expected)
        {
            // llama.cpp: "key %s has wrong type %s but expected type %s"
            throw new GgufFormatException(
                $"key {key} has wrong type {GgufValueTypes.Name(value.Type)} but expected type {GgufValueTypes.Name(expected)}");
        }
        return value;
    }

    public IEnumerator<KeyValuePair<string, GgufValue>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
