using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q5_1: blocks of 32 as fp16 scale d, fp16 minimum m, a 32-bit word of fifth bits and 16 bytes of low
/// nibbles, <c>x ≈ q·d + m</c>. Without importance weights <c>quantize_row_q5_1_ref</c>; with them
/// <c>quantize_row_q5_1_impl</c> (<c>make_qkx3_quants</c>).
/// </summary>
internal sealed class Q5_1Codec() : NibbleCodec<Q5_1Layout>(GgmlType.Q5_1);

/// <summary>24 bytes: d, m, qh, qs[16].</summary>
internal readonly struct Q5_1Layout : INibbleLayout
{
    public static int BlockBytes => 24;

    public static bool FifthBit => true;

    public static bool Affine => true;

    /// <summary>ggml's <c>quantize_row_q5_1_ref</c> stores <c>(uint8_t)(x0 + 0.5f)</c> with no clamp.</summary>
    public static bool ClampsLevels => false;
}
