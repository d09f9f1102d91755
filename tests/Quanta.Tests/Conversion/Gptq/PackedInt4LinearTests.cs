using System.Runtime.InteropServices;
using Quanta.Codecs;
using Quanta.Conversion.Gptq;
using Quanta.Formats;

namespace Quanta.Tests.Conversion.Gptq;

public class PackedInt4LinearTests
{
    const int In = 128;
    const int Out = 16;

    /// <summary>Known codes q[i, o], zeros z[g, o] and fp16 scales s[g, o], and the matrix they stand for.</summary>
    sealed class Layer
    {
        public required int[,] Codes { get; init; }
        public required int[,] Zeros { get; init; }
        public required ushort[,] Scales { get; init; }
        public required int[] GroupOf { get; init; }

        public float[] Expected()
        {
            var w = new float[Out * In];
            for (var o = 0; o < Out; o++)
            {
                for (var i = 0; i < In; i++)
                {
                    var g = GroupOf[i];
                    w[(o * In) + i] = (Codes[i, o] - Zeros[g, o]) * Fp16.ToFloat(Scales[g, o]);
                }
            }
            return w;
        }
    }

    static Layer Make(int groupSize, bool symmetric, int seed, int[]? groupOf = null, Func<Random, ushort>? scale = null)
    {
        var random = new Random(seed);
        var groups = In / groupSize;
        var codes = new int[In, Out];
        var zeros = new int[groups, Out];
        var scales = new ushort[groups, Out];
        for (var i = 0; i < In; i++)
        {
            for (var o = 0; o < Out; o++)
            {
                codes[i, o] = random.Next(16);
            }
        }
        for (var g = 0; g < groups; g++)
        {
            for (var o = 0; o < Out; o++)
            {
                zeros[g, o] = symmetric ? 8 : random.Next(1, 16);
                // Scales with few mantissa bits keep -z*s an fp16 value (as real GPTQ/AWQ scales often are not).
                scales[g, o] = scale?.Invoke(random) ?? Fp16.FromFloat(random.Next(1, 64) / 4096f);
            }
        }
        groupOf ??= Enumerable.Range(0, In).Select(i => i / groupSize).ToArray();
        return new Layer { Codes = codes, Zeros = zeros, Scales = scales, GroupOf = groupOf };
    }

    static PackedInt4Linear PackGptq(Layer l, int groupSize, bool withGIdx)
    {
        var groups = l.Zeros.GetLength(0);
        var qweight = new int[In / 8 * Out];
        for (var i = 0; i < In; i++)
        {
            for (var o = 0; o < Out; o++)
            {
                qweight[((i / 8) * Out) + o] |= l.Codes[i, o] << (4 * (i % 8));
            }
        }
        var qzeros = new int[groups * (Out / 8)];
        var scales = new ushort[groups * Out];
        for (var g = 0; g < groups; g++)
        {
            for (var o = 0; o < Out; o++)
            {
                qzeros[(g * (Out / 8)) + (o / 8)] |= ((l.Zeros[g, o] - 1) & 15) << (4 * (o % 8)); // v1 stores zero - 1
                scales[(g * Out) + o] = l.Scales[g, o];
            }
        }
        return PackedInt4Linear.Gptq(qweight, qzeros, scales, withGIdx ? l.GroupOf : null, In, Out, groupSize);
    }

    static PackedInt4Linear PackAwq(Layer l, int groupSize)
    {
        int[] order = [0, 2, 4, 6, 1, 3, 5, 7];
        var groups = l.Zeros.GetLength(0);
        var qweight = new int[In * (Out / 8)];
        var qzeros = new int[groups * (Out / 8)];
        var scales = new ushort[groups * Out];
        for (var col = 0; col < Out / 8; col++)
        {
            for (var slot = 0; slot < 8; slot++)
            {
                var o = (col * 8) + order[slot];
                for (var i = 0; i < In; i++)
                {
                    qweight[(i * (Out / 8)) + col] |= l.Codes[i, o] << (4 * slot);
                }
                for (var g = 0; g < groups; g++)
                {
                    qzeros[(g * (Out / 8)) + col] |= l.Zeros[g, o] << (4 * slot);
                }
            }
        }
        for (var g = 0; g < groups; g++)
        {
            for (var o = 0; o < Out; o++)
            {
                scales[(g * Out) + o] = l.Scales[g, o];
            }
        }
        return PackedInt4Linear.Awq(qweight, qzeros, scales, In, Out, groupSize);
    }

    static float[] Unpack(PackedInt4Linear layer)
    {
        var w = new float[Out * In];
        layer.Dequantize(0, Out, w);
        return w;
    }

    static uint[] Bits(float[] values) => MemoryMarshal.Cast<float, uint>(values).ToArray();

    [Theory]
    [InlineData(32, true)]
    [InlineData(64, false)]
    [InlineData(128, false)]
    public void Gptq_unpacks_to_the_expected_matrix(int groupSize, bool symmetric)
    {
        var layer = Make(groupSize, symmetric, groupSize);
        Assert.Equal(Bits(layer.Expected()), Bits(Unpack(PackGptq(layer, groupSize, withGIdx: true))));
        Assert.Equal(Bits(layer.Expected()), Bits(Unpack(PackGptq(layer, groupSize, withGIdx: false))));
    }

    [Theory]
    [InlineData(32, true)]
    [InlineData(64, false)]
    public void Awq_unpacks_to_the_expected_matrix(int groupSize, bool symmetric)
    {
        var layer = Make(groupSize, symmetric, 100 + groupSize);
        Assert.Equal(Bits(layer.Expected()), Bits(Unpack(PackAwq(layer, groupSize))));
    }

    [Fact]
    public void Act_order_is_unpacked_through_g_idx_but_not_mapped_directly()
    {
        var random = new Random(5);
        var groupOf = Enumerable.Range(0, In).Select(i => i / 32).OrderBy(_ => random.Next()).ToArray();
        var layer = Make(32, symmetric: true, 9, groupOf);
        var packed = PackGptq(layer, 32, withGIdx: true);
        Assert.True(packed.ActOrder);
        Assert.Equal(Bits(layer.Expected()), Bits(Unpack(packed)));
        Assert.False(packed.CanMapLossless(GgmlType.Q4_0, out var reason));
        Assert.Contains("act-order", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, true, false)]
    [InlineData(GgmlType.Q4_0, true, true)]
    [InlineData(GgmlType.Q4_1, false, false)]
    [InlineData(GgmlType.Q4_1, false, true)]
    [InlineData(GgmlType.Q4_1, true, false)]
    public void Direct_mapping_decodes_to_exactly_the_unpacked_values(GgmlType type, bool symmetric, bool awq)
    {
        const int GroupSize = 64;
        var layer = Make(GroupSize, symmetric, 42);
        var packed = awq ? PackAwq(layer, GroupSize) : PackGptq(layer, GroupSize, withGIdx: true);
        Assert.True(packed.CanMapLossless(type, out var reason), reason);
        var blockBytes = type == GgmlType.Q4_0 ? 18 : 20;
        var blocks = new byte[Out * (In / 32) * blockBytes];
        packed.Encode(type, 0, Out, blocks);
        var decoded = new float[Out * In];
        BlockCodecs.Get(type).Decode(blocks, decoded);
        Assert.Equal(Bits(Unpack(packed)), Bits(decoded));
        Assert.Equal(Bits(layer.Expected()), Bits(decoded));
    }

    [Fact]
    public void Falls_back_with_a_reason_when_not_exact()
    {
        var asymmetric = PackGptq(Make(32, symmetric: false, 1), 32, withGIdx: false);
        Assert.False(asymmetric.CanMapLossless(GgmlType.Q4_0, out var reason));
        Assert.Contains("asymmetric", reason, StringComparison.Ordinal);

        // A full 11-bit mantissa times an odd zero needs more than fp16's bits for m.
        var fine = PackGptq(Make(32, symmetric: false, 2, scale: _ => Fp16.FromFloat(0.0123456f)), 32, withGIdx: false);
        Assert.False(fine.CanMapLossless(GgmlType.Q4_1, out reason));
        Assert.Contains("not exactly an fp16 value", reason, StringComparison.Ordinal);

        var small = PackGptq(Make(16, symmetric: true, 3), 16, withGIdx: false);
        Assert.False(small.CanMapLossless(GgmlType.Q4_0, out reason));
        Assert.Contains("multiple of 32", reason, StringComparison.Ordinal);
        Assert.False(small.CanMapLossless(GgmlType.Q8_0, out _));
    }
}
