using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q4_0: blocks of 32 as an fp16 scale and 16 bytes of 4-bit quants (value j in the low nibble of byte j,
/// value j+16 in the high nibble), <c>x ≈ (q − 8)·d</c>. Without importance weights ggml's
/// <c>quantize_row_q4_0_ref</c>; with them <c>quantize_row_q4_0_impl</c>'s weighted search (<c>make_qx_quants</c>).
/// </summary>
internal sealed class Q4_0Codec() : NibbleCodec<Q4_0Layout>(GgmlType.Q4_0);

/// <summary>18 bytes: d, qs[16].</summary>
internal readonly struct Q4_0Layout : INibbleLayout
{
    public static int BlockBytes => 18;

    public static bool FifthBit => false;

    public static bool Affine => false;

    public static bool ClampsLevels => true;
}
