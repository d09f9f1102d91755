using BenchmarkDotNet.Attributes;
using Quanta.Inference.Kernels;

namespace Quanta.Benchmarks.Inference;

/// <summary>
/// The Q8_0 batch kernel alone, as one thread of <see cref="MatMul"/> runs it for pp128: one chunk of 128 weight rows
/// against 128 tokens, at the benchmark model's two row lengths (2048: attention and ffn_gate/up; 5632: ffn_down).
/// <c>Prepared</c> is MatMul's path (the activations laid out once beforehand, not timed); <c>PreparedHere</c>
/// includes that layout, as a caller of <see cref="IMatrixDot.Multiply"/> pays it.
/// <c>dotnet run -c Release --project bench/Quanta.Benchmarks -- --filter '*Q8_0Tile*'</c>.
/// </summary>
public class Q8_0TileBenchmarks
{
    private const int Rows = 128;
    private const int Tokens = 128;

    private readonly Q8_0Dot _dot = new();
    private byte[] _weights = [];
    private byte[] _activations = [];
    private byte[] _prepared = [];
    private float[] _output = [];
    private int _rowBytes;

    [Params(2048, 5632)]
    public int Columns { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var x = new float[Columns];
        _rowBytes = _dot.ActivationRowBytes(Columns);
        _weights = new byte[Rows * _rowBytes];
        _activations = new byte[Tokens * _rowBytes];
        // Weights and activations both quantized from N(0, 1)-ish values: realistic scales and quants.
        for (var r = 0; r < Rows + Tokens; r++)
        {
            for (var i = 0; i < Columns; i++)
            {
                x[i] = (float)((random.NextDouble() * 2) - 1);
            }
            var target = r < Rows ? _weights.AsSpan(r * _rowBytes, _rowBytes) : _activations.AsSpan((r - Rows) * _rowBytes, _rowBytes);
            _dot.QuantizeActivations(x, target, KernelWidths.Current);
        }
        IPreparedMatrixDot prepared = _dot;
        _prepared = GC.AllocateUninitializedArray<byte>(Math.Max(1, prepared.PreparedBytes(Tokens, Columns, KernelWidths.Current)), pinned: true);
        if (prepared.PreparedBytes(Tokens, Columns, KernelWidths.Current) > 0)
        {
            prepared.Prepare(_activations, _rowBytes, Tokens, Columns, _prepared);
        }
        _output = new float[Rows * Tokens];
    }

    [Benchmark(Baseline = true)]
    public void PreparedHere() => ((IMatrixDot)_dot).Multiply(_weights, _rowBytes, Rows, _activations, _rowBytes, Tokens, Columns, _output, Rows);

    [Benchmark]
    public void Prepared()
    {
        IPreparedMatrixDot dot = _dot;
        var bytes = dot.PreparedBytes(Tokens, Columns, KernelWidths.Current);
        dot.Multiply(_weights, _rowBytes, Rows, _activations, _rowBytes, _prepared.AsSpan(0, bytes), Tokens, Columns, _output, Rows);
    }
}
