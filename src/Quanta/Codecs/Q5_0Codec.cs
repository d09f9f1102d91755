using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q5_0: blocks of 32 as an fp16 scale, a 32-bit word of fifth bits (bit j for value j) and 16 bytes of low
/// nibbles, <c>x ≈ (q − 16)·d</c>. Without importance weights <c>quantize_row_q5_0_ref</c>; with them
/// <c>quantize_row_q5_0_impl</c> (<c>make_qx_quants</c>).
/// </summary>
internal sealed class Q5_0Codec() : NibbleCodec<Q5_0Layout>(GgmlType.Q5_0);

/// <summary>22 bytes: d, qh, qs[16].</summary>
internal readonly struct Q5_0Layout : INibbleLayout
{
    public static int BlockBytes => 22;

    public static bool FifthBit => true;

    public static bool Affine => false;

    public static bool ClampsLevels => true;
}
