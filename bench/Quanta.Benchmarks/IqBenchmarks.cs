using BenchmarkDotNet.Attributes;
using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Benchmarks;

/// <summary>
/// IQ3 encode (with and without importance weights) on a 16 × 4096 tensor of N(0, 0.02) values, like trained
/// weights, matching the ggml figures in the reference (4096 × 256, one thread).
/// </summary>
[MemoryDiagnoser]
public class IqEncodeBenchmarks
{
    private const int Cols = 4096;
    private const int Rows = 16;

    private float[] _x = [];
    private float[] _importance = [];
    private byte[] _encoded = [];
    private IBlockCodec _codec = null!;

    [Params(GgmlType.IQ3_XXS, GgmlType.IQ3_S)]
    public GgmlType Type { get; set; }

    [Params(false, true)]
    public bool Imatrix { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_x, _importance) = IqBenchmarkData.Gaussian(Rows, Cols);
        _codec = BlockCodecs.Get(Type);
        _encoded = new byte[GgmlTypeInfo.Of(Type).RowBytes(Cols) * Rows];
    }

    [Benchmark]
    public void Encode() => _codec.Encode(_x, Cols, Imatrix ? _importance : [], _encoded);
}

/// <summary>Decode throughput of every IQ, Q8_1 and Q8_K codec on 64 × 4096 values (ggml's bytes of a Gaussian tensor where Quanta can write them, random blocks otherwise).</summary>
[MemoryDiagnoser]
public class IqDecodeBenchmarks
{
    private const int Cols = 4096;
    private const int Rows = 64;

    private byte[] _encoded = [];
    private float[] _decoded = [];
    private IBlockCodec _codec = null!;

    [Params(GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S, GgmlType.IQ1_S, GgmlType.IQ1_M,
        GgmlType.Q8_1, GgmlType.Q8_K)]
    public GgmlType Type { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _codec = BlockCodecs.Get(Type);
        _encoded = new byte[GgmlTypeInfo.Of(Type).RowBytes(Cols) * Rows];
        _decoded = new float[Rows * Cols];
        if (_codec.CanEncode)
        {
            var (x, _) = IqBenchmarkData.Gaussian(Rows, Cols);
            _codec.Encode(x, Cols, [], _encoded);
        }
        else
        {
            IqBenchmarkData.RandomBlocks(Type, _encoded);
        }
    }

    [Benchmark]
    public void Decode() => _codec.Decode(_encoded, _decoded);
}

internal static class IqBenchmarkData
{
    public static (float[] X, float[] Importance) Gaussian(int rows, int cols)
    {
        var rng = new Random(42);
        var x = new float[rows * cols];
        for (var i = 0; i < x.Length; ++i)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            x[i] = (float)(0.02 * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        var importance = new float[cols];
        for (var i = 0; i < cols; ++i)
        {
            importance[i] = (float)rng.NextDouble();
        }
        return (x, importance);
    }

    /// <summary>Random bytes with a small finite fp16 (or f32 for Q8_K) scale where the format has one.</summary>
    public static void RandomBlocks(GgmlType type, Span<byte> blocks)
    {
        new Random(7).NextBytes(blocks);
        var info = GgmlTypeInfo.Of(type);
        for (var at = 0; at < blocks.Length; at += info.BlockBytes)
        {
            var block = blocks.Slice(at, info.BlockBytes);
            switch (type)
            {
                case GgmlType.Q8_K:
                    BitConverter.TryWriteBytes(block, 0.001f);
                    break;
                case GgmlType.IQ1_M:
                    break; // the scale is spread over the scale nibbles; any value decodes
                default:
                    BitConverter.TryWriteBytes(block, Fp16.FromFloat(0.001f));
                    break;
            }
        }
    }
}
