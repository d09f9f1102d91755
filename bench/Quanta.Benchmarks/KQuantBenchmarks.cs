using BenchmarkDotNet.Attributes;
using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Benchmarks;

/// <summary>K-quant encode/decode throughput on a 64 × 4096 tensor of N(0, 0.02) values (like trained weights).</summary>
[MemoryDiagnoser]
public class KQuantBenchmarks
{
    private const int Cols = 4096;
    private const int Rows = 64;

    private float[] _x = [];
    private float[] _importance = [];
    private float[] _decoded = [];
    private byte[] _encoded = [];
    private IBlockCodec _codec = null!;

    [Params(GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; }

    [Params(false, true)]
    public bool Imatrix { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        _x = new float[Rows * Cols];
        for (var i = 0; i < _x.Length; ++i)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            _x[i] = (float)(0.02 * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        _importance = new float[Cols];
        for (var i = 0; i < Cols; ++i)
        {
            _importance[i] = (float)rng.NextDouble();
        }
        _codec = Type switch
        {
            GgmlType.Q2_K => new Q2_KCodec(),
            GgmlType.Q3_K => new Q3_KCodec(),
            GgmlType.Q4_K => new Q4_KCodec(),
            GgmlType.Q5_K => new Q5_KCodec(),
            _ => new Q6_KCodec(),
        };
        _encoded = new byte[GgmlTypeInfo.Of(Type).RowBytes(Cols) * Rows];
        _decoded = new float[_x.Length];
        _codec.Encode(_x, Cols, Imatrix ? _importance : [], _encoded);
    }

    [Benchmark]
    public void Encode() => _codec.Encode(_x, Cols, Imatrix ? _importance : [], _encoded);

    [Benchmark]
    public void Decode() => _codec.Decode(_encoded, _decoded);
}
