using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;
using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Kernels;

/// <summary>
/// The F16 → float widening the float kernels use instead of ggml's table (<see cref="HalfWidening"/>), and the places
/// that widen once and reuse (a matrix's activations before its rows are split into chunks; attention's F16 cache once
/// per KV head): every result bit for bit what converting at each use gives. The class runs at every width in .ci/run.
/// </summary>
public sealed unsafe class F16WideningTests
{
    static readonly KernelWidth[] Widths = [KernelWidth.Scalar, KernelWidth.Vector256, KernelWidth.Vector512];

    [Fact]
    public void Every_half_widens_to_the_bits_of_ggml_table_at_every_width()
    {
        var halves = new ushort[65536];
        for (var i = 0; i < halves.Length; i++)
        {
            halves[i] = (ushort)i;
        }
        var wide = new float[halves.Length];
        fixed (ushort* h = halves)
        fixed (float* w = wide)
        {
            foreach (var width in Widths)
            {
                // An odd length leaves a scalar tail after the vector steps.
                Array.Fill(wide, float.NaN);
                HalfWidening.Row(h, w, halves.Length - 3, width);
                for (var i = 0; i < halves.Length - 3; i++)
                {
                    Assert.Equal(BitConverter.SingleToUInt32Bits(Fp16.ToFloat((ushort)i)), BitConverter.SingleToUInt32Bits(wide[i]));
                }
                Assert.True(float.IsNaN(wide[^1]));
            }
            // The loads the vector dot products use, on their own.
            for (var i = 0; i < halves.Length; i += 16)
            {
                var v512 = HalfWidening.Load512(h + i);
                var v256 = HalfWidening.Load256(h + i + 8);
                for (var l = 0; l < 16; l++)
                {
                    Assert.Equal(BitConverter.SingleToUInt32Bits(Fp16.ToFloat((ushort)(i + l))), BitConverter.SingleToUInt32Bits(v512.GetElement(l)));
                }
                for (var l = 0; l < 8; l++)
                {
                    Assert.Equal(BitConverter.SingleToUInt32Bits(Fp16.ToFloat((ushort)(i + 8 + l))), BitConverter.SingleToUInt32Bits(v256.GetElement(l)));
                }
            }
        }
        // Spot checks against the IEEE values: the smallest subnormal, the largest normal, infinity, a signalling NaN
        // quietened as the table's multiplication quietens it.
        Assert.Equal(MathF.Pow(2, -24), HalfWidening.ToFloat(Vector512.Create(1u)).GetElement(0));
        Assert.Equal(-65504f, HalfWidening.ToFloat(Vector256.Create(0xFBFFu)).GetElement(0));
        Assert.Equal(float.PositiveInfinity, HalfWidening.ToFloat(Vector512.Create(0x7C00u)).GetElement(0));
        Assert.Equal(0x7FE00000u, HalfWidening.ToFloat(Vector512.Create(0x7D00u)).AsUInt32().GetElement(0));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    public void F16_weights_with_activations_widened_once_equal_the_call_that_widens_them(int tokens)
    {
        const int rows = 24, n = 512;
        var rng = new Random(5);
        var weights = new byte[rows * n * 2];
        for (var i = 0; i < rows * n; i++)
        {
            MemoryMarshal.Write(weights.AsSpan(2 * i), Fp16.FromFloat((float)(rng.NextDouble() - 0.5) * 0.1f));
        }
        var dot = new F16Dot();
        var activationRowBytes = dot.ActivationRowBytes(n);
        var activations = new byte[tokens * activationRowBytes];
        var x = new float[n];
        for (var t = 0; t < tokens; t++)
        {
            for (var i = 0; i < n; i++)
            {
                x[i] = (float)((rng.NextDouble() - 0.5) * (i % 31 == 0 ? 40 : 2));
            }
            dot.QuantizeActivations(x, activations.AsSpan(t * activationRowBytes, activationRowBytes), KernelWidth.Scalar);
        }
        var expected = new float[tokens * rows];
        dot.Multiply(weights, n * 2, rows, activations, activationRowBytes, tokens, n, expected, rows);
        var wide = new float[tokens * n];
        F16Dot.WidenActivations(activations, activationRowBytes, tokens, n, wide);
        var actual = new float[tokens * rows];
        // In two chunks of rows, as MatMul hands them out.
        F16Dot.MultiplyWidened(weights.AsSpan(0, 12 * n * 2), n * 2, 12, wide, tokens, n, actual, rows);
        F16Dot.MultiplyWidened(weights.AsSpan(12 * n * 2), n * 2, 12, wide, tokens, n, actual.AsSpan(12), rows);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(actual[i]));
        }
        // And against the definition, so the comparison above is not of two wrong things.
        for (var t = 0; t < tokens; t++)
        {
            for (var r = 0; r < rows; r++)
            {
                double exact = 0, magnitude = 0;
                for (var i = 0; i < n; i++)
                {
                    var p = (double)Fp16.ToFloat(MemoryMarshal.Read<ushort>(weights.AsSpan(2 * ((r * n) + i))))
                        * Fp16.ToFloat(MemoryMarshal.Read<ushort>(activations.AsSpan((t * activationRowBytes) + (2 * i))));
                    exact += p;
                    magnitude += Math.Abs(p);
                }
                Assert.True(Math.Abs(actual[(t * rows) + r] - exact) <= 1e-6 * magnitude);
            }
        }
    }

    [Theory]
    [InlineData(false, 0, 8)]
    [InlineData(false, 20, 8)]
    [InlineData(true, 0, 8)]
    [InlineData(false, 0, 6)]
    public void Attention_over_a_cache_widened_once_per_kv_head_equals_converting_at_every_use(bool q8Keys, int window, int heads)
    {
        // 5 tokens at positions 37..41 of a 64-cell padded view, 8 (or 6) query heads over 2 KV heads, head size 64:
        // with an F16 cache the query heads go two at a time (and a group of 3 ends with one alone).
        const int tokens = 5, position = 37, kvLength = 64, kvCapacity = 96, kvHeads = 2, dim = 64;
        var rng = new Random(9);
        IVecDot keyDot = q8Keys ? new Q8_0Dot() : new F16Dot();
        var keyRowBytes = keyDot.ActivationRowBytes(dim);
        var keys = new byte[kvHeads * kvCapacity * keyRowBytes];
        var row = new float[dim];
        for (var j = 0; j < kvHeads * kvCapacity; j++)
        {
            for (var i = 0; i < dim; i++)
            {
                row[i] = (float)(rng.NextDouble() - 0.5) * 2;
            }
            keyDot.QuantizeActivations(row, keys.AsSpan(j * keyRowBytes, keyRowBytes), KernelWidth.Scalar);
        }
        var values = new ushort[kvHeads * dim * kvCapacity];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Fp16.FromFloat((float)(rng.NextDouble() - 0.5));
        }
        var query = new float[tokens * heads * dim];
        for (var i = 0; i < query.Length; i++)
        {
            query[i] = (float)(rng.NextDouble() - 0.5) * 3;
        }
        const float scale = 0.125f;
        foreach (var width in Widths)
        {
            var output = new float[tokens * heads * dim];
            using (var pool = new WorkerPool(2))
            {
                new AttentionHeads(pool, width).Run(query, keyDot, keys, keyRowBytes, values, kvCapacity, tokens, position, kvLength, heads, kvHeads, dim, dim, window, scale, 0f, output);
            }
            var converted = new byte[keyRowBytes];
            var scores = new float[kvCapacity];
            var probabilities = new ushort[kvCapacity];
            var expected = new float[dim];
            for (var t = 0; t < tokens; t++)
            {
                for (var h = 0; h < heads; h++)
                {
                    var kvHead = h / (heads / kvHeads);
                    var p = position + t;
                    keyDot.QuantizeActivations(query.AsSpan(((t * heads) + h) * dim, dim), converted, width);
                    Attention.Head(
                        converted, keyDot, keys.AsSpan(kvHead * kvCapacity * keyRowBytes, kvLength * keyRowBytes), keyRowBytes, dim,
                        values.AsSpan(kvHead * dim * kvCapacity, dim * kvCapacity), kvCapacity,
                        window > 0 ? Math.Max(0, p - window + 1) : 0, p + 1, kvLength, scale, 0f, expected, scores, probabilities, width);
                    for (var d = 0; d < dim; d++)
                    {
                        Assert.Equal(BitConverter.SingleToInt32Bits(expected[d]), BitConverter.SingleToInt32Bits(output[(((t * heads) + h) * dim) + d]));
                    }
                }
            }
            Assert.Contains(output, v => v != 0f);
        }
    }
}
