using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q4_1: blocks of 32 as fp16 scale d, fp16 minimum m and 16 bytes of 4-bit quants, <c>x ≈ q·d + m</c>.
/// Without importance weights <c>quantize_row_q4_1_ref</c> (min/max); with them <c>quantize_row_q4_1_impl</c>
/// (<c>make_qkx3_quants</c>).
/// </summary>
internal sealed class Q4_1Codec() : NibbleCodec<Q4_1Layout>(GgmlType.Q4_1);

/// <summary>20 bytes: d, m, qs[16].</summary>
internal readonly struct Q4_1Layout : INibbleLayout
{
    public static int BlockBytes => 20;

    public static bool FifthBit => false;

    public static bool Affine => true;

    public static bool ClampsLevels => true;
}
