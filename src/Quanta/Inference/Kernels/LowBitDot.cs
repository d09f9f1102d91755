using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The loop Q1_0 and Q2_0 share (<c>ggml_vec_dot_q1_0_q8_0_generic</c>, <c>_q2_0_</c>, which the x86 build runs): a
/// weight block with one fp16 d spans several Q8_0 blocks. Per Q8_0 block the exact integer Σ q·q8,
/// <c>sumi = fma(d_a, Σ, sumi)</c>, then per weight block <c>sum = fma(d_w, sumi, sum)</c> (GCC's build fuses
/// <c>sumi += d1·sumi_block</c> and <c>sumf += d0·sumi</c>). The signed bytes and their lane sums
/// (<see cref="Avx2DotOrder"/>) are the vector part; the integer total is the same at every width.
/// </summary>
internal static class LowBitDot
{
    const int BlockBytes = 18;

    public static float Dot(GgmlType type, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n, KernelWidth width)
    {
        var groups = type == GgmlType.Q1_0 ? 4 : 2;
        Span<sbyte> q = stackalloc sbyte[32];
        Span<int> lanes = stackalloc int[Avx2DotOrder.Lanes];
        var sum = 0f;
        for (var b = 0; b < n / (32 * groups); b++)
        {
            var w = weights.Slice(b * BlockBytes, BlockBytes);
            var partial = 0f;
            for (var k = 0; k < groups; k++)
            {
                var a = activations.Slice((groups * b + k) * Q8_0Activations.BlockBytes, Q8_0Activations.BlockBytes);
                if (type == GgmlType.Q1_0)
                {
                    // ±1: bit j%8 of byte j/8 set for +1.
                    var bits = w.Slice(2 + 4 * k, 4);
                    for (var j = 0; j < 32; j++)
                    {
                        q[j] = ((bits[j / 8] >> (j % 8)) & 1) != 0 ? (sbyte)1 : (sbyte)-1;
                    }
                }
                else
                {
                    // q − 1 for the 2-bit code in bits 2(j%4) of byte j/4.
                    var codes = w.Slice(2 + 8 * k, 8);
                    for (var j = 0; j < 32; j++)
                    {
                        q[j] = (sbyte)(((codes[j / 4] >> (2 * (j % 4))) & 3) - 1);
                    }
                }
                lanes.Clear();
                Avx2DotOrder.AddGroup(q, IntegerDot.Signed(a.Slice(2, 32)), 1, lanes, width);
                var total = 0;
                foreach (var lane in lanes)
                {
                    total += lane;
                }
                partial = MathF.FusedMultiplyAdd(Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(a)), total, partial);
            }
            sum = MathF.FusedMultiplyAdd(Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(w)), partial, sum);
        }
        return sum;
    }
}
