using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Q3_K: 3-bit symmetric quants in sixteen 16-element sub-blocks with 6-bit signed scales under one fp16
/// super-scale, 110 bytes per 256 values. Layout (<c>block_q3_K</c>): hmask[32] (bit k of byte m = high bit of
/// element 32k + m), qs[64] (2-bit low parts, four 32-element groups per 32 bytes), scales[12]
/// (see <see cref="KScales.PackQ3"/>), d fp16. Follows ggml's <c>quantize_row_q3_K_ref</c>,
/// <c>quantize_row_q3_K_impl</c> and <c>dequantize_row_q3_K</c> bit for bit.
/// </summary>
public sealed class Q3_KCodec : SuperBlockCodec
{
    private const int QsOffset = 32;
    private const int ScalesOffset = 96;
    private const int DOffset = 108;

    public Q3_KCodec()
        : this(VectorizeByDefault)
    {
    }

    internal Q3_KCodec(bool vectorized)
        : base(GgmlType.Q3_K, vectorized)
    {
    }

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block)
    {
        if (Vectorized && Vector512.IsHardwareAccelerated)
        {
            EncodeBlockWide(x, block);
            return;
        }

        if (Vectorized)
        {
            EncodeBlockLanes(x, block);
            return;
        }

        Span<sbyte> levels = stackalloc sbyte[SuperBlockSize];
        Span<float> scales = stackalloc float[16];
        for (var j = 0; j < 16; ++j)
        {
            scales[j] = SymmetricSearch.MakeQ3(x.Slice(16 * j, 16), 4, levels.Slice(16 * j, 16));
        }

        WriteSearchScales(scales, block, stackalloc float[16]);
        RequantizeAndPack(x, levels, block);
    }

    /// <summary>
    /// <see cref="EncodeBlock"/> with all sixteen sub-blocks in the lanes of one <see cref="Vector512{T}"/>: the
    /// search, the requantization by true division (each lane divides by its own sub-block scale) and the bit packing
    /// never leave the transposed form until the levels are final.
    /// </summary>
    [SkipLocalsInit]
    private static void EncodeBlockWide(ReadOnlySpan<float> x, Span<byte> block)
    {
        Span<Vector512<float>> xt = stackalloc Vector512<float>[16];
        Span<Vector512<int>> lt = stackalloc Vector512<int>[16];
        Span<float> scales = stackalloc float[16];
        WideLaneSearch.Transpose16(x, xt);
        WideLaneSearch.Q3(xt, 4, lt).CopyTo(scales);

        Span<float> d = stackalloc float[16];
        WriteSearchScales(scales, block, d);

        // Lanes whose effective scale is zero keep the search's levels, as in ggml.
        var vd = Vector512.Create<float>(d);
        var requantize = (~Vector512.Equals(vd, Vector512<float>.Zero)).AsInt32();
        if (requantize != Vector512<int>.Zero)
        {
            var lo = Vector512.Create(-4);
            var hi = Vector512.Create(3);
            var bias = Vector512.Create(4);
            for (var i = 0; i < 16; ++i)
            {
                var l = Vector512.Max(lo, Vector512.Min(hi, WideLaneSearch.NearestInt(xt[i] / vd))) + bias;
                lt[i] = Vector512.ConditionalSelect(requantize, l, lt[i]);
            }
        }

        Span<byte> levels = stackalloc byte[SuperBlockSize];
        WideLaneSearch.Untranspose16(lt, levels);
        PackLevels(levels, block);
    }

    /// <summary>
    /// <see cref="EncodeBlock"/> on 256-bit vectors: sub-blocks 0–7 and 8–15 in the lanes of two vector groups whose
    /// searches run interleaved (<see cref="LaneSearch.Q3Pair"/>), then the same requantization and packing as
    /// <see cref="EncodeBlockWide"/>, never leaving the transposed form until the levels are final.
    /// </summary>
    [SkipLocalsInit]
    private static void EncodeBlockLanes(ReadOnlySpan<float> x, Span<byte> block)
    {
        Span<Vector256<float>> xt = stackalloc Vector256<float>[32];
        Span<Vector256<int>> lt = stackalloc Vector256<int>[32];
        Span<float> scales = stackalloc float[16];
        LaneSearch.Transpose(x, 16, xt[..16]);
        LaneSearch.Transpose(x[128..], 16, xt[16..]);
        LaneSearch.Q3Pair(xt[..16], xt[16..], 4, lt[..16], lt[16..], scales);

        Span<float> d = stackalloc float[16];
        WriteSearchScales(scales, block, d);
        RequantizeLanesAndPack(xt, lt, d, block);
    }

    /// <summary>
    /// The unweighted super-scale: sub-block scales to 6 bits by <c>-32 / max</c>, the fp16 <c>d</c>, and each
    /// sub-block's effective scale <c>d · (sc − 32)</c> into <paramref name="d"/> (what the requantization divides by).
    /// </summary>
    private static void WriteSearchScales(ReadOnlySpan<float> scales, Span<byte> block, Span<float> d)
    {
        var maxScale = GgmlMath.LargestMagnitude(scales, out _);

        var packedScales = block.Slice(ScalesOffset, 12);
        packedScales.Clear();
        if (maxScale != 0)
        {
            var iscale = -32f / maxScale;
            Span<int> biased = stackalloc int[16];
            for (var j = 0; j < 16; ++j)
            {
                // C: int8_t l = nearest_int(...); the value is within [-32, 32], so the int8 store is exact.
                var l = (sbyte)GgmlMath.NearestInt(iscale * scales[j]);
                biased[j] = SymmetricSearch.Clamp(l, -32, 31) + 32;
            }
            KScales.PackQ3(biased, packedScales);
            var dAll = Fp16.ToFloat(Fp16.FromFloat(1 / iscale));
            BinaryPrimitives.WriteUInt16LittleEndian(block[DOffset..], Fp16.FromFloat(1 / iscale));
            for (var j = 0; j < 16; ++j)
            {
                d[j] = dAll * ((biased[j] & 63) - 32);
            }
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(block[DOffset..], Fp16.FromFloat(0f));
            d.Clear();
        }
    }

    /// <summary>
    /// The requantization by true division in lanes (group g's lane j divides by <c>d[8g + j]</c>; lanes whose
    /// effective scale is zero keep the search's levels, as in ggml), then the levels back to natural order and packed.
    /// </summary>
    [SkipLocalsInit]
    private static void RequantizeLanesAndPack(ReadOnlySpan<Vector256<float>> xt, Span<Vector256<int>> lt,
        ReadOnlySpan<float> d, Span<byte> block)
    {
        var lo = Vector256.Create(-4);
        var hi = Vector256.Create(3);
        var bias = Vector256.Create(4);
        for (var g = 0; g < 2; ++g)
        {
            var vd = Vector256.Create(d.Slice(8 * g, 8));
            var requantize = (~Vector256.Equals(vd, Vector256<float>.Zero)).AsInt32();
            if (requantize == Vector256<int>.Zero)
            {
                continue;
            }
            for (var i = 16 * g; i < 16 * g + 16; ++i)
            {
                var l = Vector256.Max(lo, Vector256.Min(hi, LaneSearch.NearestInt(xt[i] / vd))) + bias;
                lt[i] = Vector256.ConditionalSelect(requantize, l, lt[i]);
            }
        }

        Span<byte> levels = stackalloc byte[SuperBlockSize];
        LaneSearch.Untranspose(lt[..16], 16, levels);
        LaneSearch.Untranspose(lt[16..], 16, levels[128..]);
        PackLevels(levels, block);
    }

    /// <summary>
    /// Splits levels 0..7 into the high-bit mask and the 2-bit low parts, eight bytes at a time (each operation
    /// stays inside its byte).
    /// </summary>
    private static void PackLevels(ReadOnlySpan<byte> levels, Span<byte> block)
    {
        var lv = MemoryMarshal.Cast<byte, ulong>(levels);
        var hm = MemoryMarshal.Cast<byte, ulong>(block[..32]);
        var qs = MemoryMarshal.Cast<byte, ulong>(block.Slice(QsOffset, 64));
        const ulong ones = 0x0101010101010101UL;
        const ulong threes = 0x0303030303030303UL;
        for (var k = 0; k < 4; ++k)
        {
            ulong h = 0;
            for (var s = 0; s < 8; ++s)
            {
                h |= ((lv[4 * s + k] >> 2) & ones) << s;
            }
            hm[k] = h;
        }
        for (var half = 0; half < 2; ++half)
        {
            for (var k = 0; k < 4; ++k)
            {
                ulong q = 0;
                for (var s = 0; s < 4; ++s)
                {
                    q |= (lv[16 * half + 4 * s + k] & threes) << (2 * s);
                }
                qs[4 * half + k] = q;
            }
        }
    }

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        float sumX2 = 0;
        for (var j = 0; j < SuperBlockSize; ++j)
        {
            sumX2 += x[j] * x[j];
        }
        var sigma2 = 2 * sumX2 / SuperBlockSize;

        if (Vectorized)
        {
            EncodeBlockWeightedLanes(x, importance, sigma2, block);
            return;
        }

        Span<sbyte> levels = stackalloc sbyte[SuperBlockSize];
        Span<float> scales = stackalloc float[16];
        Span<float> weights = stackalloc float[16];
        Span<float> sw = stackalloc float[16];
        for (var j = 0; j < 16; ++j)
        {
            var xs = x.Slice(16 * j, 16);
            var qw = importance.Slice(16 * j, 16);
            sw[j] = LegacyWeights.FillAndSum(xs, qw, sigma2, weights);
            scales[j] = SymmetricSearch.MakeQx(xs, 4, levels.Slice(16 * j, 16), weights);
        }

        WriteWeightedScales(scales, sw, block, stackalloc float[16]);
        RequantizeAndPack(x, levels, block);
    }

    /// <summary>
    /// <see cref="EncodeBlockWeighted"/> with the weighted sub-block searches as two groups of eight lanes (each lane
    /// summing its weights in order), and the requantization and packing of <see cref="RequantizeLanesAndPack"/>.
    /// </summary>
    [SkipLocalsInit]
    private static void EncodeBlockWeightedLanes(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, float sigma2, Span<byte> block)
    {
        Span<Vector256<float>> xt = stackalloc Vector256<float>[32];
        Span<Vector256<float>> wt = stackalloc Vector256<float>[16];
        Span<Vector256<int>> lt = stackalloc Vector256<int>[32];
        Span<Vector256<int>> scratch = stackalloc Vector256<int>[16];
        Span<float> scales = stackalloc float[16];
        Span<float> sw = stackalloc float[16];
        var s2 = Vector256.Create(sigma2);
        for (var g = 0; g < 2; ++g)
        {
            var xg = xt.Slice(16 * g, 16);
            LaneSearch.Transpose(x[(128 * g)..], 16, xg);
            LaneSearch.Transpose(importance[(128 * g)..], 16, wt);
            var sumW = Vector256<float>.Zero;
            for (var l = 0; l < 16; ++l)
            {
                wt[l] = wt[l] * Vector256.Sqrt(s2 + xg[l] * xg[l]);
                sumW += wt[l];
            }
            sumW.CopyTo(sw[(8 * g)..]);
            LaneSearch.Symmetric(xg, 4, lt.Slice(16 * g, 16), wt, scratch).CopyTo(scales[(8 * g)..]);
        }

        Span<float> d = stackalloc float[16];
        WriteWeightedScales(scales, sw, block, d);
        RequantizeLanesAndPack(xt, lt, d, block);
    }

    /// <summary>
    /// The weighted super-scale: the sub-block scales themselves quantized by <c>make_qx_quants(16, 32, scales, L, 1,
    /// sw)</c>, the fp16 <c>d</c>, and each sub-block's effective scale <c>d · (sc − 32)</c> into <paramref name="d"/>.
    /// </summary>
    private static void WriteWeightedScales(ReadOnlySpan<float> scales, ReadOnlySpan<float> sw, Span<byte> block, Span<float> d)
    {
        var packedScales = block.Slice(ScalesOffset, 12);
        packedScales.Clear();
        Span<sbyte> ls = stackalloc sbyte[16];
        var dBlock = SymmetricSearch.MakeQx(scales, 32, ls, sw);
        Span<int> biased = stackalloc int[16];
        for (var j = 0; j < 16; ++j)
        {
            biased[j] = ls[j];
        }
        KScales.PackQ3(biased, packedScales);
        BinaryPrimitives.WriteUInt16LittleEndian(block[DOffset..], Fp16.FromFloat(dBlock));
        var dAll = Fp16.ToFloat(Fp16.FromFloat(dBlock));
        for (var j = 0; j < 16; ++j)
        {
            d[j] = dAll * KScales.UnpackQ3(j, packedScales);
        }
    }

    /// <summary>
    /// Re-derives the levels from the stored fp16 scale and 6-bit sub-scales (true division), then splits them
    /// into the high-bit mask and the 2-bit low parts. Sub-blocks with a zero effective scale keep the search's
    /// levels, as in ggml.
    /// </summary>
    private static void RequantizeAndPack(ReadOnlySpan<float> x, Span<sbyte> levels, Span<byte> block)
    {
        var packedScales = block.Slice(ScalesOffset, 12);
        var dAll = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[DOffset..]));
        for (var j = 0; j < 16; ++j)
        {
            var d = dAll * KScales.UnpackQ3(j, packedScales);
            if (d == 0)
            {
                continue;
            }
            Requantize.Symmetric(x.Slice(16 * j, 16), d, -4, 3, 4, levels.Slice(16 * j, 16), vectorized: false);
        }

        var hmask = block[..32];
        hmask.Clear();
        for (var j = 0; j < SuperBlockSize; ++j)
        {
            if (levels[j] > 3)
            {
                hmask[j % 32] |= (byte)(1 << (j / 32));
                levels[j] -= 4;
            }
        }
        var qs = block.Slice(QsOffset, 64);
        for (var h = 0; h < 2; ++h)
        {
            for (var l = 0; l < 32; ++l)
            {
                var b = 128 * h + l;
                qs[32 * h + l] = (byte)((byte)levels[b] | ((byte)levels[b + 32] << 2) | ((byte)levels[b + 64] << 4) | ((byte)levels[b + 96] << 6));
            }
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        if (Vectorized)
        {
            DecodeBlockVector(block, y);
            return;
        }

        var dAll = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[DOffset..]));
        var hm = block[..32];
        var packedScales = block.Slice(ScalesOffset, 12);
        var bit = 0;
        var isub = 0;
        for (var h = 0; h < 2; ++h)
        {
            var q = block.Slice(QsOffset + 32 * h, 32);
            for (var shift = 0; shift < 8; shift += 2)
            {
                for (var half = 0; half < 2; ++half)
                {
                    var dl = dAll * KScales.UnpackQ3(isub++, packedScales);
                    var o = 16 * half;
                    var yOut = y.Slice(128 * h + 16 * shift + o, 16);
                    for (var l = 0; l < 16; ++l)
                    {
                        // ggml subtracts 4 where the high bit is clear; computed without a branch.
                        yOut[l] = dl * (((q[o + l] >> shift) & 3) - (4 - (((hm[o + l] >> bit) & 1) << 2)));
                    }
                }
                ++bit;
            }
        }
    }

    /// <summary>
    /// <see cref="DecodeBlock"/> sixteen values at a time: the same integer level per value (exact in any width) times
    /// the same float scale, one rounding each, so the same floats.
    /// </summary>
    private static void DecodeBlockVector(ReadOnlySpan<byte> block, Span<float> y)
    {
        var dAll = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block[DOffset..]));
        var packedScales = block.Slice(ScalesOffset, 12);
        ref var b = ref MemoryMarshal.GetReference(block[..DOffset]);
        ref var yr = ref MemoryMarshal.GetReference(y[..SuperBlockSize]);
        var three = Vector128.Create((byte)3);
        var one = Vector128.Create((byte)1);
        var four = Vector128.Create((sbyte)4);
        var bit = 0;
        var isub = 0;
        for (var h = 0; h < 2; ++h)
        {
            for (var shift = 0; shift < 8; shift += 2)
            {
                for (var half = 0; half < 2; ++half)
                {
                    var dl = Vector128.Create(dAll * KScales.UnpackQ3(isub++, packedScales));
                    var o = (nuint)(16 * half);
                    var q = Vector128.LoadUnsafe(ref b, QsOffset + 32 * (nuint)h + o);
                    var hm = Vector128.LoadUnsafe(ref b, o);
                    var low = Vector128.ShiftRightLogical(q, shift) & three;
                    var high = Vector128.ShiftLeft(Vector128.ShiftRightLogical(hm, bit) & one, 2);
                    var level = (low | high).AsSByte() - four;
                    var (l0, l1) = Vector128.Widen(level);
                    var (i0, i1) = Vector128.Widen(l0);
                    var (i2, i3) = Vector128.Widen(l1);
                    var at = (nuint)(128 * h + 16 * shift) + o;
                    (dl * Vector128.ConvertToSingle(i0)).StoreUnsafe(ref yr, at);
                    (dl * Vector128.ConvertToSingle(i1)).StoreUnsafe(ref yr, at + 4);
                    (dl * Vector128.ConvertToSingle(i2)).StoreUnsafe(ref yr, at + 8);
                    (dl * Vector128.ConvertToSingle(i3)).StoreUnsafe(ref yr, at + 12);
                }
                ++bit;
            }
        }
    }
}
