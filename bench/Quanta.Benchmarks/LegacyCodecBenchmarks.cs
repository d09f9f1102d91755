using BenchmarkDotNet.Attributes;
using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Benchmarks;

/// <summary>Reference (scalar) against vector encoders of the legacy formats, 1 Mi values (4096 rows of 256).</summary>
[MemoryDiagnoser]
public class LegacyCodecBenchmarks
{
    const int Count = 1 << 20;
    float[] values = [];
    float[] importance = [];
    byte[] output = [];
    ushort[] halves = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        values = new float[Count];
        for (var i = 0; i < Count; i++)
        {
            values[i] = (float)(random.NextDouble() * 0.04 - 0.02);
        }
        importance = Enumerable.Range(0, 256).Select(_ => (float)random.NextDouble()).ToArray();
        output = new byte[Count * 2];
        halves = new ushort[Count];
    }

    [Benchmark] public void Q8_0_Scalar() => Q8_0Codec.EncodeBlocksScalar(values, output.AsSpan(0, Count / 32 * 34));
    [Benchmark] public void Q8_0_Vector() => Q8_0Codec.EncodeBlocks(values, output.AsSpan(0, Count / 32 * 34));
    [Benchmark] public void Q4_0_Scalar() => Q4_0Codec.EncodeBlocksScalar(values, output.AsSpan(0, Count / 32 * 18));
    [Benchmark] public void Q4_0_Vector() => Q4_0Codec.EncodeBlocks(values, output.AsSpan(0, Count / 32 * 18));
    [Benchmark] public void Q4_1_Vector() => Q4_1Codec.EncodeBlocks(values, output.AsSpan(0, Count / 32 * 20));
    [Benchmark] public void Q5_1_Vector() => Q5_1Codec.EncodeBlocks(values, output.AsSpan(0, Count / 32 * 24));
    [Benchmark] public void Q4_0_Importance() => BlockCodecs.Get(GgmlType.Q4_0).Encode(values, 256, importance, output.AsSpan(0, Count / 32 * 18));
    [Benchmark] public void F16_Encode() => Fp16.FromFloat(values, halves);
}
