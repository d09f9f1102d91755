using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q6_K: 6-bit symmetric quants in 16-element sub-blocks with signed 8-bit scales under one fp16 super-scale,
/// 210 bytes per 256 values. Layout (<c>block_q6_K</c>): ql[128] low nibbles, qh[64] high two bits,
/// scales[16] int8, d fp16. Follows ggml's <c>quantize_row_q6_K_ref</c> / <c>quantize_row_q6_K_impl</c> and
/// <c>dequantize_row_q6_K</c> bit for bit.
/// </summary>
public sealed class Q6_KCodec : SuperBlockCodec
{
    private const int QlOffset = 0;
    private const int QhOffset = 128;
    private const int ScalesOffset = 192;
    private const int DOffset = 208;

    public Q6_KCodec()
        : this(VectorizeByDefault)
    {
    }

    internal Q6_KCodec(bool vectorized)
        : base(GgmlType.Q6_K, vectorized)
    {
    }

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block) => Encode(x, default, Vectorized, block);

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block) =>
        Encode(x, importance, Vectorized, block);

    // The _ref and _impl functions differ only in the weights handed to make_qx_quants: x² (NULL) or the raw
    // importance (ggml deliberately leaves out the sigma² term here).
    private static void Encode(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, bool vectorized, Span<byte> block)
    {
        Span<sbyte> levels = stackalloc sbyte[SuperBlockSize];
        Span<float> scales = stackalloc float[16];
        if (vectorized)
        {
            SearchLanes(x, importance, levels, scales);
        }
        else
        {
            for (var ib = 0; ib < 16; ++ib)
            {
                var weights = importance.IsEmpty ? default : importance.Slice(16 * ib, 16);
                scales[ib] = SymmetricSearch.MakeQx(x.Slice(16 * ib, 16), 32, levels.Slice(16 * ib, 16), weights);
            }
        }

        float maxScale = 0;
        float maxAbsScale = 0;
        for (var ib = 0; ib < 16; ++ib)
        {
            var scale = scales[ib];
            var absScale = MathF.Abs(scale);
            if (absScale > maxAbsScale)
            {
                maxAbsScale = absScale;
                maxScale = scale;
            }
        }

        if (maxAbsScale < GgmlMath.GroupMaxEps)
        {
            block.Clear();
            return;
        }

        var iscale = -128f / maxScale;
        var dBits = Fp16.FromFloat(1 / iscale);
        BinaryPrimitives.WriteUInt16LittleEndian(block[DOffset..], dBits);
        var packedScales = block.Slice(ScalesOffset, 16);
        for (var ib = 0; ib < 16; ++ib)
        {
            packedScales[ib] = unchecked((byte)(sbyte)Math.Min(127, GgmlMath.NearestInt(iscale * scales[ib])));
        }

        // Re-derive every level from the stored (fp16-rounded) scale, by true division as ggml does.
        var dAll = Fp16.ToFloat(dBits);
        for (var j = 0; j < 16; ++j)
        {
            var d = dAll * (sbyte)packedScales[j];
            if (d == 0)
            {
                continue;
            }
            Requantize.Symmetric(x.Slice(16 * j, 16), d, -32, 31, 32, levels.Slice(16 * j, 16), vectorized);
        }

        var ql = block.Slice(QlOffset, 128);
        var qh = block.Slice(QhOffset, 64);
        for (var half = 0; half < 2; ++half)
        {
            var l0 = 128 * half;
            var qlHalf = ql.Slice(64 * half, 64);
            var qhHalf = qh.Slice(32 * half, 32);
            for (var l = 0; l < 32; ++l)
            {
                var a = (byte)levels[l0 + l];
                var b = (byte)levels[l0 + l + 32];
                var c = (byte)levels[l0 + l + 64];
                var e = (byte)levels[l0 + l + 96];
                qlHalf[l] = (byte)((a & 0xF) | ((c & 0xF) << 4));
                qlHalf[l + 32] = (byte)((b & 0xF) | ((e & 0xF) << 4));
                qhHalf[l] = (byte)((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
            }
        }
    }

    /// <summary>The sixteen <c>make_qx_quants</c> searches as two groups of eight lanes.</summary>
    private static void SearchLanes(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<sbyte> levels, Span<float> scales)
    {
        Span<Vector256<float>> xt = stackalloc Vector256<float>[16];
        Span<Vector256<float>> wt = stackalloc Vector256<float>[importance.IsEmpty ? 0 : 16];
        Span<Vector256<int>> lt = stackalloc Vector256<int>[16];
        Span<Vector256<int>> scratch = stackalloc Vector256<int>[16];
        for (var g = 0; g < 2; ++g)
        {
            LaneSearch.Transpose(x[(128 * g)..], 16, xt);
            if (!importance.IsEmpty)
            {
                LaneSearch.Transpose(importance[(128 * g)..], 16, wt);
            }
            LaneSearch.Symmetric(xt, 32, lt, wt, scratch).CopyTo(scales[(8 * g)..]);
            LaneSearch.Untranspose(lt, 16, levels[(128 * g)..]);
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[DOffset..]));
        var ql = block.Slice(QlOffset, 128);
        var qh = block.Slice(QhOffset, 64);
        var sc = block.Slice(ScalesOffset, 16);
        for (var half = 0; half < 2; ++half)
        {
            var qlHalf = ql.Slice(64 * half, 64);
            var qhHalf = qh.Slice(32 * half, 32);
            var scHalf = sc.Slice(8 * half, 8);
            var yHalf = y.Slice(128 * half, 128);
            for (var l = 0; l < 32; ++l)
            {
                var isub = l / 16;
                var q1 = ((qlHalf[l] & 0xF) | (((qhHalf[l] >> 0) & 3) << 4)) - 32;
                var q2 = ((qlHalf[l + 32] & 0xF) | (((qhHalf[l] >> 2) & 3) << 4)) - 32;
                var q3 = ((qlHalf[l] >> 4) | (((qhHalf[l] >> 4) & 3) << 4)) - 32;
                var q4 = ((qlHalf[l + 32] >> 4) | (((qhHalf[l] >> 6) & 3) << 4)) - 32;
                // (d * scale) * q, left to right as in C.
                yHalf[l] = d * (sbyte)scHalf[isub] * q1;
                yHalf[l + 32] = d * (sbyte)scHalf[isub + 2] * q2;
                yHalf[l + 64] = d * (sbyte)scHalf[isub + 4] * q3;
                yHalf[l + 96] = d * (sbyte)scHalf[isub + 6] * q4;
            }
        }
    }
}
