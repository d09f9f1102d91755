using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs.Search;

/// <summary>
/// The scale-and-min part shared by Q4_K and Q5_K, which differ only in nmax, the search parameters of the
/// reference path, and how the levels are packed: eight 32-element sub-blocks, each with its own scale and min,
/// quantized to 6 bits under fp16 <c>d</c> and <c>dmin</c>. Produces the 0..nmax levels of all 256 values, the
/// 4-byte (d, dmin) header and the 12 packed scale bytes.
/// </summary>
internal static class KQuantAffine
{
    /// <summary>
    /// ggml's <c>quantize_row_q{4,5}_K_ref</c> up to the packing of the levels: per sub-block
    /// <c>make_qkx2_quants</c> with weights <c>sqrt(mean x²) + |x|</c>, then the largest scale and min set the
    /// 6-bit grids (<c>max/63</c>).
    /// </summary>
    public static void EncodeReference(ReadOnlySpan<float> x, int nmax, float rmin, float rdelta, int nstep, bool vectorized,
        Span<byte> levels, Span<byte> header, Span<byte> packedScales)
    {
        Span<float> scales = stackalloc float[8];
        Span<float> mins = stackalloc float[8];
        if (vectorized)
        {
            SearchReferenceLanes(x, nmax, rmin, rdelta, nstep, levels, scales, mins);
        }
        else
        {
            SearchReference(x, nmax, rmin, rdelta, nstep, levels, scales, mins);
        }

        float maxScale = 0;
        float maxMin = 0;
        for (var j = 0; j < 8; ++j)
        {
            if (scales[j] > maxScale)
            {
                maxScale = scales[j];
            }
            if (mins[j] > maxMin)
            {
                maxMin = mins[j];
            }
        }

        var invScale = maxScale > 0 ? 63f / maxScale : 0f;
        var invMin = maxMin > 0 ? 63f / maxMin : 0f;
        Span<byte> ls = stackalloc byte[8];
        Span<byte> lm = stackalloc byte[8];
        for (var j = 0; j < 8; ++j)
        {
            // C stores nearest_int into a uint8_t first (wrapping), then clamps with MIN(63, ·).
            ls[j] = Math.Min((byte)63, unchecked((byte)GgmlMath.NearestInt(invScale * scales[j])));
            lm[j] = Math.Min((byte)63, unchecked((byte)GgmlMath.NearestInt(invMin * mins[j])));
        }
        KScales.PackScaleMin(ls, lm, packedScales);
        BinaryPrimitives.WriteUInt16LittleEndian(header, Fp16.FromFloat(maxScale / 63f));
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], Fp16.FromFloat(maxMin / 63f));

        Requantize(x, nmax, levels, header, packedScales, vectorized);
    }

    /// <summary>
    /// ggml's <c>quantize_row_q{4,5}_K_impl</c> with importance weights, up to the packing of the levels:
    /// weights <c>qw · sqrt(2·mean x² + x²)</c>, <c>make_qkx3_quants</c> per sub-block, then
    /// <c>make_qp_quants</c> chooses the 6-bit scale and min grids. <paramref name="clampScales"/> is the
    /// <c>MIN(63, ·)</c> that ggml applies in the Q5_K version only.
    /// </summary>
    public static void EncodeWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, int nmax, bool clampScales,
        bool vectorized, Span<byte> levels, Span<byte> header, Span<byte> packedScales)
    {
        Span<float> scales = stackalloc float[8];
        Span<float> mins = stackalloc float[8];
        Span<float> sw = stackalloc float[8];
        if (vectorized)
        {
            SearchWeightedLanes(x, importance, nmax, levels, scales, mins, sw);
        }
        else
        {
            SearchWeighted(x, importance, nmax, levels, scales, mins, sw);
        }

        Span<byte> ls = stackalloc byte[8];
        Span<byte> lm = stackalloc byte[8];
        var dBlock = ScaleSearch.MakeQp(scales, 63, ls, sw, vectorized);
        var mBlock = ScaleSearch.MakeQp(mins, 63, lm, sw, vectorized);
        if (clampScales)
        {
            for (var j = 0; j < 8; ++j)
            {
                ls[j] = Math.Min((byte)63, ls[j]);
                lm[j] = Math.Min((byte)63, lm[j]);
            }
        }
        KScales.PackScaleMin(ls, lm, packedScales);
        BinaryPrimitives.WriteUInt16LittleEndian(header, Fp16.FromFloat(dBlock));
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], Fp16.FromFloat(mBlock));

        Requantize(x, nmax, levels, header, packedScales, vectorized);
    }

    /// <summary>Per sub-block <c>make_qkx2_quants</c> with weights <c>sqrt(mean x²) + |x|</c> (the _ref path).</summary>
    private static void SearchReference(ReadOnlySpan<float> x, int nmax, float rmin, float rdelta, int nstep,
        Span<byte> levels, Span<float> scales, Span<float> mins)
    {
        Span<byte> scratch = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        for (var j = 0; j < 8; ++j)
        {
            var xs = x.Slice(32 * j, 32);
            float sumX2 = 0;
            for (var l = 0; l < 32; ++l)
            {
                sumX2 += xs[l] * xs[l];
            }
            var avX = MathF.Sqrt(sumX2 / 32);
            for (var l = 0; l < 32; ++l)
            {
                weights[l] = avX + MathF.Abs(xs[l]);
            }
            scales[j] = AffineSearch.MakeQkx2(xs, nmax, weights, levels.Slice(32 * j, 32), out mins[j], scratch,
                rmin, rdelta, nstep, useMad: false);
        }
    }

    /// <summary><see cref="SearchReference"/> with the eight sub-blocks in the eight lanes.</summary>
    private static void SearchReferenceLanes(ReadOnlySpan<float> x, int nmax, float rmin, float rdelta, int nstep,
        Span<byte> levels, Span<float> scales, Span<float> mins)
    {
        Span<Vector256<float>> xt = stackalloc Vector256<float>[32];
        Span<Vector256<float>> wt = stackalloc Vector256<float>[32];
        Span<Vector256<int>> lt = stackalloc Vector256<int>[32];
        Span<Vector256<int>> scratch = stackalloc Vector256<int>[32];
        LaneSearch.Transpose(x, 32, xt);
        var sumX2 = Vector256<float>.Zero;
        for (var l = 0; l < 32; ++l)
        {
            sumX2 += xt[l] * xt[l];
        }
        var avX = Vector256.Sqrt(sumX2 / Vector256.Create(32f));
        for (var l = 0; l < 32; ++l)
        {
            wt[l] = avX + Vector256.Abs(xt[l]);
        }
        var scale = LaneSearch.Affine(xt, wt, nmax, lt, scratch, rmin, rdelta, nstep, useMad: false, out var min);
        scale.CopyTo(scales);
        min.CopyTo(mins);
        LaneSearch.Untranspose(lt, 32, levels);
    }

    /// <summary>Per sub-block weights <c>qw·sqrt(σ² + x²)</c>, their sums, and <c>make_qkx3_quants</c> (the _impl path).</summary>
    private static void SearchWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, int nmax,
        Span<byte> levels, Span<float> scales, Span<float> mins, Span<float> sw)
    {
        Span<byte> scratch = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        var sigma2 = Sigma2(x);
        for (var j = 0; j < 8; ++j)
        {
            var xs = x.Slice(32 * j, 32);
            var qw = importance.Slice(32 * j, 32);
            sw[j] = LegacyWeights.FillAndSum(xs, qw, sigma2, weights);
            scales[j] = AffineSearch.MakeQkx3(xs, nmax, weights, levels.Slice(32 * j, 32), out mins[j], scratch,
                -0.9f, 0.05f, 36, useMad: false);
        }
    }

    /// <summary><see cref="SearchWeighted"/> with the eight sub-blocks in the eight lanes.</summary>
    private static void SearchWeightedLanes(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, int nmax,
        Span<byte> levels, Span<float> scales, Span<float> mins, Span<float> sw)
    {
        Span<Vector256<float>> xt = stackalloc Vector256<float>[32];
        Span<Vector256<float>> wt = stackalloc Vector256<float>[32];
        Span<Vector256<int>> lt = stackalloc Vector256<int>[32];
        Span<Vector256<int>> scratch = stackalloc Vector256<int>[32];
        LaneSearch.Transpose(x, 32, xt);
        LaneSearch.Transpose(importance, 32, wt);
        var sigma2 = Vector256.Create(Sigma2(x));
        var sumW = Vector256<float>.Zero;
        for (var l = 0; l < 32; ++l)
        {
            wt[l] = wt[l] * Vector256.Sqrt(sigma2 + xt[l] * xt[l]);
            sumW += wt[l];
        }
        sumW.CopyTo(sw);
        var scale = LaneSearch.Affine(xt, wt, nmax, lt, scratch, -0.9f, 0.05f, 36, useMad: false, out var min);
        scale.CopyTo(scales);
        min.CopyTo(mins);
        LaneSearch.Untranspose(lt, 32, levels);
    }

    /// <summary><c>2·Σx²/256</c> over the super-block, summed in order.</summary>
    private static float Sigma2(ReadOnlySpan<float> x)
    {
        float sumX2 = 0;
        for (var l = 0; l < SuperBlockCodec.SuperBlockSize; ++l)
        {
            sumX2 += x[l] * x[l];
        }
        return 2 * sumX2 / SuperBlockCodec.SuperBlockSize;
    }

    /// <summary>
    /// Recomputes the levels from what was stored — the fp16-rounded <c>d</c>/<c>dmin</c> times the 6-bit
    /// scale/min — by true division, as ggml does. A sub-block whose effective scale is zero keeps the levels
    /// its search produced.
    /// </summary>
    private static void Requantize(ReadOnlySpan<float> x, int nmax, Span<byte> levels, ReadOnlySpan<byte> header,
        ReadOnlySpan<byte> packedScales, bool vectorized)
    {
        var dAll = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(header));
        var mAll = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(header[2..]));
        for (var j = 0; j < 8; ++j)
        {
            KScales.UnpackScaleMin(j, packedScales, out var sc, out var m);
            var d = dAll * sc;
            if (d == 0)
            {
                continue;
            }
            var dm = mAll * m;
            Search.Requantize.Affine(x.Slice(32 * j, 32), dm, d, nmax, levels.Slice(32 * j, 32), vectorized);
        }
    }
}
