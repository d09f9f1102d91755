using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Tests.Formats.Gguf;

internal static class GgufTestFiles
{
    public static string TinyLlama => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", "tiny-llama-f16.gguf");

    /// <summary>Deterministic pseudo-random bytes (xorshift), different per seed.</summary>
    public static byte[] Bytes(long length, int seed)
    {
        var bytes = new byte[length];
        var x = 0x9E3779B97F4A7C15UL ^ (ulong)seed;
        for (var i = 0; i < bytes.Length; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes[i] = (byte)x;
        }
        return bytes;
    }

    /// <summary>Writes a file with the given tensors, each filled with <see cref="Bytes"/> seeded by its index.</summary>
    public static void Write(string path, GgufMetadata metadata, IReadOnlyList<GgufTensorInfo> tensors, GgufWriterOptions? options = null)
    {
        using var writer = GgufWriter.Create(path, metadata, tensors, options);
        for (var i = 0; i < tensors.Count; i++)
        {
            writer.WriteTensorData(Bytes(tensors[i].ByteSize, i));
        }
        writer.Commit();
    }

    public static void AssertSameMetadata(GgufMetadata expected, GgufMetadata actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, value) in expected)
        {
            Assert.True(value.Equals(actual[key]), $"{key}: expected {value} ({value.Type}), got {actual[key]} ({actual[key].Type})");
        }
    }

    public static void AssertSameTensors(GgufFile expected, GgufFile actual)
    {
        Assert.Equal(expected.Tensors.Count, actual.Tensors.Count);
        for (var i = 0; i < expected.Tensors.Count; i++)
        {
            var e = expected.Tensors[i];
            var a = actual.Tensors[i];
            Assert.Equal(e.Name, a.Name);
            Assert.Equal(e.Type, a.Type);
            Assert.Equal(e.Shape, a.Shape);
            Assert.True(e.Data.SequenceEqual(a.Data), $"tensor {e.Name}: data differs");
        }
    }

    public static GgufMetadata WithoutSplitKeys(GgufMetadata metadata)
    {
        var copy = new GgufMetadata(metadata);
        copy.Remove(GgufKeys.SplitNumber);
        copy.Remove(GgufKeys.SplitCount);
        copy.Remove(GgufKeys.SplitTensorsCount);
        return copy;
    }

    public static bool SameFile(string a, string b) => OutputPaths.SameFile(a, b);
}
