using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q2_K: 2-bit affine quants (value = d·scale·q − dmin·min) in sixteen 16-element sub-blocks with 4-bit scales
/// and mins under two fp16 super-scales, 84 bytes per 256 values. Layout (<c>block_q2_K</c>): scales[16]
/// (low nibble scale, high nibble min), qs[64] (four 32-element groups per 32 bytes, 2 bits each), d, dmin
/// (fp16). Follows ggml's <c>quantize_row_q2_K_ref</c>, <c>quantize_row_q2_K_impl</c> and
/// <c>dequantize_row_q2_K</c> bit for bit.
/// </summary>
public sealed class Q2_KCodec : SuperBlockCodec
{
    private const int QsOffset = 16;
    private const int DOffset = 80;
    private const int DminOffset = 82;

    public Q2_KCodec()
        : this(VectorizeByDefault)
    {
    }

    internal Q2_KCodec(bool vectorized)
        : base(GgmlType.Q2_K, vectorized)
    {
    }

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        Span<byte> levels = stackalloc byte[SuperBlockSize];
        Span<byte> scratch = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        Span<float> mins = stackalloc float[16];

        if (Vectorized)
        {
            SearchLanes(x, default, 0f, levels, scales, mins, default);
        }
        else
        {
            for (var j = 0; j < 16; ++j)
            {
                var xs = x.Slice(16 * j, 16);
                for (var l = 0; l < 16; ++l)
                {
                    weights[l] = MathF.Abs(xs[l]);
                }
                scales[j] = AffineSearch.MakeQkx2(xs, 3, weights, levels.Slice(16 * j, 16), out mins[j], scratch,
                    -0.5f, 0.1f, 15, useMad: true);
            }
        }

        float maxScale = 0;
        float maxMin = 0;
        for (var j = 0; j < 16; ++j)
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

        var packedScales = block[..16];
        if (maxScale > 0)
        {
            var iscale = 15f / maxScale;
            for (var j = 0; j < 16; ++j)
            {
                packedScales[j] = unchecked((byte)GgmlMath.NearestInt(iscale * scales[j]));
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block[DOffset..], Fp16.FromFloat(maxScale / 15f));
        }
        else
        {
            packedScales.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(block[DOffset..], Fp16.FromFloat(0f));
        }
        if (maxMin > 0)
        {
            var iscale = 15f / maxMin;
            for (var j = 0; j < 16; ++j)
            {
                var l = GgmlMath.NearestInt(iscale * mins[j]);
                packedScales[j] = unchecked((byte)(packedScales[j] | (l << 4)));
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block[DminOffset..], Fp16.FromFloat(maxMin / 15f));
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(block[DminOffset..], Fp16.FromFloat(0f));
        }

        RequantizeAndPack(x, levels, block, Vectorized);
    }

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        Span<byte> levels = stackalloc byte[SuperBlockSize];
        Span<byte> scratch = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        Span<float> sw = stackalloc float[16];

        float sumX2 = 0;
        for (var j = 0; j < SuperBlockSize; ++j)
        {
            sumX2 += x[j] * x[j];
        }
        // Unlike Q3_K..Q5_K, Q2_K's sigma² has no factor 2.
        var sigma2 = sumX2 / SuperBlockSize;
        if (Vectorized)
        {
            SearchLanes(x, importance, sigma2, levels, scales, mins, sw);
        }
        else
        {
            for (var j = 0; j < 16; ++j)
            {
                var xs = x.Slice(16 * j, 16);
                var qw = importance.Slice(16 * j, 16);
                sw[j] = LegacyWeights.FillAndSum(xs, qw, sigma2, weights);
                scales[j] = AffineSearch.MakeQkx3(xs, 3, weights, levels.Slice(16 * j, 16), out mins[j], scratch,
                    -0.9f, 0.05f, 36, useMad: false);
            }
        }

        Span<byte> ls = stackalloc byte[16];
        Span<byte> lm = stackalloc byte[16];
        var dm = ScaleSearch.MakeQp(scales, 15, ls, sw, Vectorized);
        var mm = ScaleSearch.MakeQp(mins, 15, lm, sw, Vectorized);
        BinaryPrimitives.WriteUInt16LittleEndian(block[DOffset..], Fp16.FromFloat(dm));
        BinaryPrimitives.WriteUInt16LittleEndian(block[DminOffset..], Fp16.FromFloat(mm));
        var packedScales = block[..16];
        for (var j = 0; j < 16; ++j)
        {
            packedScales[j] = unchecked((byte)(ls[j] | (lm[j] << 4)));
        }

        RequantizeAndPack(x, levels, block, Vectorized);
    }

    /// <summary>
    /// The sixteen sub-block searches as two groups of eight lanes: without importance (empty), weights |x| and
    /// the _ref parameters; with it, weights <c>qw·sqrt(σ² + x²)</c> (summed per lane, in order, into
    /// <paramref name="sw"/>) and the _impl parameters.
    /// </summary>
    private static void SearchLanes(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, float sigma2,
        Span<byte> levels, Span<float> scales, Span<float> mins, Span<float> sw)
    {
        Span<Vector256<float>> xt = stackalloc Vector256<float>[16];
        Span<Vector256<float>> wt = stackalloc Vector256<float>[16];
        Span<Vector256<int>> lt = stackalloc Vector256<int>[16];
        Span<Vector256<int>> scratch = stackalloc Vector256<int>[16];
        var s2 = Vector256.Create(sigma2);
        for (var g = 0; g < 2; ++g)
        {
            LaneSearch.Transpose(x[(128 * g)..], 16, xt);
            Vector256<float> scale;
            Vector256<float> min;
            if (importance.IsEmpty)
            {
                for (var l = 0; l < 16; ++l)
                {
                    wt[l] = Vector256.Abs(xt[l]);
                }
                scale = LaneSearch.Affine(xt, wt, 3, lt, scratch, -0.5f, 0.1f, 15, useMad: true, out min);
            }
            else
            {
                LaneSearch.Transpose(importance[(128 * g)..], 16, wt);
                var sumW = Vector256<float>.Zero;
                for (var l = 0; l < 16; ++l)
                {
                    wt[l] = wt[l] * Vector256.Sqrt(s2 + xt[l] * xt[l]);
                    sumW += wt[l];
                }
                sumW.CopyTo(sw[(8 * g)..]);
                scale = LaneSearch.Affine(xt, wt, 3, lt, scratch, -0.9f, 0.05f, 36, useMad: false, out min);
            }
            scale.CopyTo(scales[(8 * g)..]);
            min.CopyTo(mins[(8 * g)..]);
            LaneSearch.Untranspose(lt, 16, levels[(128 * g)..]);
        }
    }

    /// <summary>
    /// Re-derives the levels from the stored fp16 <c>d</c>/<c>dmin</c> and 4-bit scale/min (true division) and packs
    /// them; sub-blocks with a zero effective scale keep the search's levels, as in ggml.
    /// </summary>
    private static void RequantizeAndPack(ReadOnlySpan<float> x, Span<byte> levels, Span<byte> block, bool vectorized)
    {
        var packedScales = block[..16];
        var dAll = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[DOffset..]));
        var mAll = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[DminOffset..]));
        for (var j = 0; j < 16; ++j)
        {
            var d = dAll * (packedScales[j] & 0xF);
            if (d == 0)
            {
                continue;
            }
            var dm = mAll * (packedScales[j] >> 4);
            Requantize.Affine(x.Slice(16 * j, 16), dm, d, 3, levels.Slice(16 * j, 16), vectorized);
        }

        var qs = block.Slice(QsOffset, 64);
        for (var h = 0; h < 2; ++h)
        {
            for (var l = 0; l < 32; ++l)
            {
                var b = 128 * h + l;
                qs[32 * h + l] = (byte)(levels[b] | (levels[b + 32] << 2) | (levels[b + 64] << 4) | (levels[b + 96] << 6));
            }
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[DOffset..]));
        var min = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[DminOffset..]));
        var scales = block[..16];
        var isub = 0;
        for (var h = 0; h < 2; ++h)
        {
            var q = block.Slice(QsOffset + 32 * h, 32);
            for (var shift = 0; shift < 8; shift += 2)
            {
                for (var half = 0; half < 2; ++half)
                {
                    var sc = scales[isub++];
                    var dl = d * (sc & 0xF);
                    var ml = min * (sc >> 4);
                    var o = 16 * half;
                    var yOut = y.Slice(128 * h + 16 * shift + o, 16);
                    for (var l = 0; l < 16; ++l)
                    {
                        yOut[l] = dl * ((q[o + l] >> shift) & 3) - ml;
                    }
                }
            }
        }
    }
}
