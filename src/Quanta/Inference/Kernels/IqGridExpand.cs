using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>
/// The IQ types' weights as signed bytes: eight unsigned grid values (one <c>ulong</c>, as the codecs' grid tables
/// hold them) with a sign bit each, negated where the bit is set (what <c>_mm256_sign_epi8</c> does to the
/// activations in ggml: the product is the same). Scalar and vector paths give the same bytes.
/// </summary>
internal static class IqGridExpand
{
    // Byte j of entry s is 0xFF where bit j of s is set: x ^ m − m negates exactly those bytes.
    static readonly ulong[] SignMasks = BuildSignMasks();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Signed8(ulong grid, int signs, Span<sbyte> destination, KernelWidth width)
    {
        if (width == KernelWidth.Scalar)
        {
            for (var j = 0; j < 8; j++)
            {
                var value = (sbyte)(grid >> (8 * j));
                destination[j] = ((signs >> j) & 1) == 0 ? value : (sbyte)-value;
            }
            return;
        }
        var mask = Vector64.Create(SignMasks[signs & 0xFF]).AsSByte();
        ((Vector64.Create(grid).AsSByte() ^ mask) - mask).CopyTo(destination);
    }

    static ulong[] BuildSignMasks()
    {
        var masks = new ulong[256];
        for (var s = 0; s < 256; s++)
        {
            for (var j = 0; j < 8; j++)
            {
                if (((s >> j) & 1) != 0)
                {
                    masks[s] |= 0xFFUL << (8 * j);
                }
            }
        }
        return masks;
    }
}
