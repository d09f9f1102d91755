using System.Buffers.Binary;
using System.Text;

namespace Quanta.Tests.Formats.Gguf;

/// <summary>
/// Builds GGUF files byte by byte, independently of Quanta's writer, so reader tests check the format
/// itself and can produce every malformed variant the reader must refuse.
/// </summary>
internal sealed class GgufBytes
{
    readonly List<byte[]> _kvs = [];
    readonly List<(string Name, long[] Shape, int Type, ulong? Offset, int Bytes)> _tensors = [];

    public uint Version { get; set; } = 3;
    public int Alignment { get; set; } = 32;

    /// <summary>Overrides the tensor count written in the header (to forge corrupt files).</summary>
    public ulong? TensorCountOverride { get; set; }

    public GgufBytes Kv(string key, int type, Action<BinaryWriter> writeValue)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            WriteString(w, key);
            w.Write(type);
            writeValue(w);
        }
        _kvs.Add(ms.ToArray());
        return this;
    }

    public GgufBytes U32(string key, uint v) => Kv(key, 4, w => w.Write(v));
    public GgufBytes I32(string key, int v) => Kv(key, 5, w => w.Write(v));
    public GgufBytes U16(string key, ushort v) => Kv(key, 2, w => w.Write(v));
    public GgufBytes Str(string key, string v) => Kv(key, 8, w => WriteString(w, v));

    public GgufBytes Tensor(string name, long[] shape, int type, int dataBytes, ulong? offset = null)
    {
        _tensors.Add((name, shape, type, offset, dataBytes));
        return this;
    }

    public static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    /// <summary>The file; tensor data bytes are filled with <c>(tensor index + 1) * 7 + byte index</c>.</summary>
    public byte[] Build()
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("GGUF"u8);
        w.Write(Version);
        w.Write(TensorCountOverride ?? (ulong)_tensors.Count);
        w.Write((ulong)_kvs.Count);
        foreach (var kv in _kvs)
        {
            w.Write(kv);
        }
        ulong running = 0;
        foreach (var (name, shape, type, offset, bytes) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)shape.Length);
            foreach (var n in shape)
            {
                w.Write(n);
            }
            w.Write(type);
            w.Write(offset ?? running);
            running += (ulong)Pad(bytes);
        }
        w.Write(new byte[Pad(ms.Position) - ms.Position]);
        for (var t = 0; t < _tensors.Count; t++)
        {
            var data = new byte[Pad(_tensors[t].Bytes)];
            for (var i = 0; i < _tensors[t].Bytes; i++)
            {
                data[i] = (byte)(((t + 1) * 7) + i);
            }
            w.Write(data);
        }
        w.Flush();
        return ms.ToArray();
    }

    long Pad(long n) => (n + Alignment - 1) / Alignment * Alignment;

    /// <summary>A small valid model: two metadata keys and two F32 tensors.</summary>
    public static GgufBytes Small() => new GgufBytes()
        .Str("general.architecture", "llama")
        .U32("llama.block_count", 2)
        .Tensor("a.weight", [4, 2], 0, 32)
        .Tensor("b.weight", [8], 0, 32);

    /// <summary>A vocabulary-style file: string, float and int arrays, and quantized tensors.</summary>
    public static GgufBytes Vocabulary()
    {
        var tokens = Enumerable.Range(0, 100).Select(i => $"tok{i}").ToArray();
        return new GgufBytes()
            .Str("general.architecture", "llama")
            .Kv("tokenizer.ggml.tokens", 9, w =>
            {
                w.Write(8);
                w.Write((ulong)tokens.Length);
                foreach (var t in tokens)
                {
                    WriteString(w, t);
                }
            })
            .Kv("tokenizer.ggml.scores", 9, w =>
            {
                w.Write(6);
                w.Write(100UL);
                for (var i = 0; i < 100; i++)
                {
                    w.Write(-i * 0.5f);
                }
            })
            .Kv("nested", 9, w =>
            {
                w.Write(9);
                w.Write(2UL);
                w.Write(4);
                w.Write(1UL);
                w.Write(7u);
                w.Write(8);
                w.Write(1UL);
                WriteString(w, "x");
            })
            .Tensor("q4", [64, 2], 2, 72)
            .Tensor("q8", [32, 3], 8, 102)
            .Tensor("f16", [16, 2, 2], 1, 128);
    }

    public static void PutU64(byte[] file, int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(at), v);
}
