using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The sums shared by TQ1_0 and TQ2_0 against Q8_K (<c>ggml_vec_dot_tq1_0_q8_K</c>, <c>_tq2_0_</c>, AVX2 order): the
/// stored trits (0, 1, 2) times the activations in int16 lanes, the activations' block sums (<c>bsums</c>) subtracted
/// to make them −1, 0, 1, and the int16 pairs widened, so that int32 lane l holds Σ over i ≡ 4l..4l+3 (mod 32) of
/// trit·q8 minus the activations 32l..32l+31. ggml writes each block's step as <c>_mm256_add_ps(_mm256_mul_ps(lane, d),
/// acc)</c>; GCC, which built the reference (<c>-std=gnu11</c>, so <c>-ffp-contract=fast</c>, with FMA), fuses the two
/// into one fma, as the other K-quants' explicit <c>_mm256_fmadd_ps</c> (<see cref="Avx2DotOrder.Accumulate"/>).
/// </summary>
internal static class TernaryDot
{
    /// <summary>Adds one block, its trits already expanded in element order, into <paramref name="acc"/>.</summary>
    public static void AddBlock(ReadOnlySpan<sbyte> trits, ReadOnlySpan<byte> activations, float weightScale, Span<float> acc, KernelWidth width)
    {
        Span<int> sums = stackalloc int[Avx2DotOrder.Lanes];
        sums.Clear();
        var q8 = IntegerDot.Signed(activations.Slice(Q8_KActivations.QuantsOffset, 256));
        for (var g = 0; g < 8; g++)
        {
            Avx2DotOrder.AddGroup(trits.Slice(32 * g, 32), q8.Slice(32 * g, 32), 1, sums, width);
        }
        for (var l = 0; l < Avx2DotOrder.Lanes; l++)
        {
            sums[l] -= BinaryPrimitives.ReadInt16LittleEndian(activations[(Q8_KActivations.SumsOffset + 4 * l)..])
                + BinaryPrimitives.ReadInt16LittleEndian(activations[(Q8_KActivations.SumsOffset + 4 * l + 2)..]);
        }
        Avx2DotOrder.Accumulate(BinaryPrimitives.ReadSingleLittleEndian(activations) * weightScale, sums, acc);
    }

    /// <summary>The block's fp16 scale <c>d</c> at <paramref name="offset"/>.</summary>
    public static float Scale(ReadOnlySpan<byte> block, int offset) => Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[offset..]));
}
