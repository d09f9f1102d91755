using BenchmarkDotNet.Attributes;
using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Benchmarks;

/// <summary>
/// Encode/decode throughput of the non-linear, ternary and FP4 formats on a 64 × 4096 tensor of N(0, 0.02)
/// values (262,144 elements per call). Importance weights only change the work for IQ4_NL and IQ4_XS; the other
/// formats ignore them, as ggml does, so they run without.
/// </summary>
[MemoryDiagnoser]
public class SmallFormatBenchmarks
{
    private const int Cols = 4096;
    private const int Rows = 64;

    private float[] _x = [];
    private float[] _importance = [];
    private float[] _decoded = [];
    private byte[] _encoded = [];
    private IBlockCodec _codec = null!;

    [Params("IQ4_NL", "IQ4_XS", "IQ4_NL+imatrix", "IQ4_XS+imatrix", "TQ1_0", "TQ2_0", "MXFP4", "NVFP4", "Q1_0", "Q2_0")]
    public string Case { get; set; } = "";

    private bool Imatrix => Case.EndsWith("+imatrix", StringComparison.Ordinal);

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
        var name = Case.Split('+')[0];
        if (!GgmlTypeInfo.TryParse(name, out var info))
        {
            throw new InvalidOperationException($"unknown type {name}");
        }
        _codec = BlockCodecs.Get(info.Type);
        _encoded = new byte[info.RowBytes(Cols) * Rows];
        _decoded = new float[_x.Length];
        _codec.Encode(_x, Cols, Imatrix ? _importance : [], _encoded);
    }

    [Benchmark]
    public void Encode() => _codec.Encode(_x, Cols, Imatrix ? _importance : [], _encoded);

    [Benchmark]
    public void Decode() => _codec.Decode(_encoded, _decoded);
}
