using System.Runtime.CompilerServices;

namespace Quanta.Codecs.Search;

/// <summary>
/// The 12-byte packings of 6-bit sub-block scales used by the K-quants.
/// <para>
/// Q4_K / Q5_K (eight scale/min pairs): bytes 0–3 hold scales 0–3 in their low six bits, bytes 4–7 mins 0–3;
/// bytes 8–11 hold the low nibbles of scale 4–7 (low half) and min 4–7 (high half); the top two bits of
/// scale j and min j (j ≥ 4) go to the top two bits of bytes j−4 and j.
/// </para>
/// <para>
/// Q3_K (sixteen biased 6-bit scales): bytes 0–7 hold low nibbles of scales 0–7 (low half) and 8–15 (high half);
/// bytes 8–11 collect the high two bits, scale j in byte 8 + j%4 at bit 2·(j/4).
/// </para>
/// All packers take ggml's C <c>uint8_t</c>/<c>int</c> values as they come and truncate to bytes where C does,
/// so out-of-range inputs produce ggml's bytes too.
/// </summary>
internal static class KScales
{
    /// <summary>Packs the eight (scale, min) pairs of a Q4_K/Q5_K super-block, in ggml's write order.</summary>
    public static void PackScaleMin(ReadOnlySpan<byte> scales, ReadOnlySpan<byte> mins, Span<byte> packed)
    {
        for (var j = 0; j < 8; ++j)
        {
            var ls = scales[j];
            var lm = mins[j];
            if (j < 4)
            {
                packed[j] = ls;
                packed[j + 4] = lm;
            }
            else
            {
                packed[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                packed[j - 4] |= (byte)((ls >> 4) << 6);
                packed[j] |= (byte)((lm >> 4) << 6);
            }
        }
    }

    /// <summary>ggml's <c>get_scale_min_k4</c>: the 6-bit scale and min of sub-block <paramref name="j"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void UnpackScaleMin(int j, ReadOnlySpan<byte> packed, out byte scale, out byte min)
    {
        if (j < 4)
        {
            scale = (byte)(packed[j] & 63);
            min = (byte)(packed[j + 4] & 63);
        }
        else
        {
            scale = (byte)((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
            min = (byte)((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
        }
    }

    /// <summary>
    /// Packs sixteen Q3_K scales, each already biased to 0..63 (C passes an <c>int</c>/<c>int8_t</c>; only the low
    /// six bits survive, as in ggml). <paramref name="packed"/> must be zeroed first, as ggml memsets it.
    /// </summary>
    public static void PackQ3(ReadOnlySpan<int> biased, Span<byte> packed)
    {
        for (var j = 0; j < 16; ++j)
        {
            var l = biased[j];
            if (j < 8)
            {
                packed[j] = (byte)(l & 0xF);
            }
            else
            {
                packed[j - 8] |= (byte)((l & 0xF) << 4);
            }
            l >>= 4;
            packed[j % 4 + 8] |= (byte)(l << (2 * (j / 4)));
        }
    }

    /// <summary>The signed scale (−32..31) of Q3_K sub-block <paramref name="j"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int UnpackQ3(int j, ReadOnlySpan<byte> packed)
    {
        var low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
        var high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        return (low | (high << 4)) - 32;
    }
}
