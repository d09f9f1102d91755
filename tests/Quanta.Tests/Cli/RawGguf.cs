using System.Text;
using Quanta.Formats;

namespace Quanta.Tests.Cli;

/// <summary>
/// Writes GGUF bytes by hand, field by field, so tests can make files no writer would (no tensors, odd
/// types, split shards, wrong-typed keys) without depending on Quanta's own writer.
/// </summary>
internal sealed class RawGguf
{
    readonly List<(string Key, uint Type, Action<BinaryWriter> Write)> _metadata = [];
    readonly List<(string Name, long[] Shape, GgmlType Type)> _tensors = [];

    public uint Version { get; init; } = 3;

    public RawGguf String(string key, string value) => Add(key, 8, w => WriteString(w, value));

    public RawGguf UInt32(string key, uint value) => Add(key, 4, w => w.Write(value));

    public RawGguf UInt16(string key, ushort value) => Add(key, 2, w => w.Write(value));

    public RawGguf Int32(string key, int value) => Add(key, 5, w => w.Write(value));

    public RawGguf Float32(string key, float value) => Add(key, 6, w => w.Write(value));

    public RawGguf Strings(string key, params string[] values) => Add(key, 9, w =>
    {
        w.Write(8u);
        w.Write((ulong)values.Length);
        foreach (var v in values)
        {
            WriteString(w, v);
        }
    });

    public RawGguf Int32s(string key, params int[] values) => Add(key, 9, w =>
    {
        w.Write(5u);
        w.Write((ulong)values.Length);
        foreach (var v in values)
        {
            w.Write(v);
        }
    });

    public RawGguf Tensor(string name, GgmlType type, params long[] shape)
    {
        _tensors.Add((name, shape, type));
        return this;
    }

    RawGguf Add(string key, uint type, Action<BinaryWriter> write)
    {
        _metadata.Add((key, type, write));
        return this;
    }

    public byte[] ToBytes()
    {
        const int Alignment = 32;
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write("GGUF"u8);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, type, write) in _metadata)
        {
            WriteString(w, key);
            w.Write(type);
            write(w);
        }
        long offset = 0;
        var sizes = new List<long>();
        foreach (var (name, shape, type) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)shape.Length);
            foreach (var d in shape)
            {
                w.Write(d);
            }
            w.Write((int)type);
            w.Write((ulong)offset);
            var info = GgmlTypeInfo.Of(type);
            var size = shape.Aggregate(1L, (a, b) => a * b) / info.BlockElements * info.BlockBytes;
            sizes.Add(size);
            offset += Pad(size, Alignment);
        }
        if (_tensors.Count > 0)
        {
            w.Write(new byte[Pad(stream.Position, Alignment) - stream.Position]);
            foreach (var size in sizes)
            {
                w.Write(new byte[Pad(size, Alignment)]);
            }
        }
        w.Flush();
        return stream.ToArray();
    }

    public string WriteTo(string path)
    {
        File.WriteAllBytes(path, ToBytes());
        return path;
    }

    static long Pad(long n, int alignment) => (n + alignment - 1) / alignment * alignment;

    static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
