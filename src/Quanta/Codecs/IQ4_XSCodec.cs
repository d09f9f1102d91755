using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ4_XS: the IQ4_NL levels in super-blocks of 256, eight 32-value blocks with 6-bit block scales under one fp16
/// super-scale, 136 bytes: d fp16, scales_h u16 (two high bits per block), scales_l[4] (low nibbles, two blocks
/// per byte), qs[128]. Follows ggml's <c>quantize_iq4_xs</c> (<c>quantize_row_iq4_nl_impl</c> with 7 trial scales;
/// the <c>_ref</c> function is the same) and <c>dequantize_row_iq4_xs</c> bit for bit.
/// </summary>
public sealed class IQ4_XSCodec : SuperBlockCodec
{
    const int ScalesHOffset = 2;
    const int ScalesLOffset = 4;
    const int QsOffset = 8;
    const int Blocks = SuperBlockSize / NonLinearSearch.BlockSize;

    public IQ4_XSCodec()
        : this(VectorizeByDefault)
    {
    }

    internal IQ4_XSCodec(bool vectorized)
        : base(GgmlType.IQ4_XS, vectorized)
    {
    }

    protected override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block) => Encode(x, default, block);

    protected override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block) =>
        Encode(x, importance, block);

    void Encode(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        Span<float> scales = stackalloc float[Blocks];
        var sigma2 = NonLinearSearch.Sigma2(x);
        if (Vectorized)
        {
            SearchLanes(x, importance, sigma2, scales);
        }
        else
        {
            Span<float> weight = stackalloc float[NonLinearSearch.BlockSize];
            for (var ib = 0; ib < Blocks; ib++)
            {
                var xb = x.Slice(ib * 32, 32);
                NonLinearSearch.FillWeights(xb, importance.IsEmpty ? default : importance.Slice(ib * 32, 32), sigma2, weight);
                scales[ib] = NonLinearSearch.SearchBlock(xb, weight);
            }
        }

        // The block scale of largest magnitude, first one on ties, sets the super-scale.
        float maxScale = 0, amaxScale = 0;
        foreach (var scale in scales)
        {
            if (MathF.Abs(scale) > amaxScale)
            {
                amaxScale = MathF.Abs(scale);
                maxScale = scale;
            }
        }
        var d = -maxScale / 32;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        var id = d != 0 ? 1 / d : 0f;
        var scalesH = 0;
        var scalesL = block.Slice(ScalesLOffset, 4);
        for (var ib = 0; ib < Blocks; ib++)
        {
            var l = Math.Clamp(GgmlMath.NearestInt(id * scales[ib]), -32, 31);
            // The levels are re-derived from the float super-scale (not its fp16 rounding) times the 6-bit scale.
            var dl = d * l;
            var idl = dl != 0 ? 1 / dl : 0f;
            var xb = x.Slice(ib * 32, 32);
            var qs = block.Slice(QsOffset + 16 * ib, 16);
            if (Vectorized)
            {
                NonLinearSearch.PackLevels256(xb, idl, qs);
            }
            else
            {
                NonLinearSearch.PackLevels(xb, idl, qs);
            }
            l += 32;
            if (ib % 2 == 0)
            {
                scalesL[ib / 2] = (byte)(l & 0xF);
            }
            else
            {
                scalesL[ib / 2] |= (byte)((l & 0xF) << 4);
            }
            scalesH |= (l >> 4) << (2 * ib);
        }
        BinaryPrimitives.WriteUInt16LittleEndian(block[ScalesHOffset..], (ushort)scalesH);
    }

    /// <summary>The eight block searches of one super-block, one block per lane.</summary>
    static void SearchLanes(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, float sigma2, Span<float> scales)
    {
        Span<Vector256<float>> xt = stackalloc Vector256<float>[NonLinearSearch.BlockSize];
        Span<Vector256<float>> wt = stackalloc Vector256<float>[NonLinearSearch.BlockSize];
        LaneSearch.Transpose(x, NonLinearSearch.BlockSize, xt);
        if (importance.IsEmpty)
        {
            for (var j = 0; j < xt.Length; j++)
            {
                wt[j] = xt[j] * xt[j];
            }
        }
        else
        {
            LaneSearch.Transpose(importance, NonLinearSearch.BlockSize, wt);
            var s = Vector256.Create(sigma2);
            for (var j = 0; j < xt.Length; j++)
            {
                wt[j] *= Vector256.Sqrt(s + xt[j] * xt[j]);
            }
        }
        NonLinearSearch.SearchLanes(xt, wt).CopyTo(scales);
    }

    static readonly Vector128<sbyte> Table = Vector128.Create(NonLinearSearch.Values);

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));
        var scalesH = BinaryPrimitives.ReadUInt16LittleEndian(block[ScalesHOffset..]);
        var values = NonLinearSearch.Values;
        for (var ib = 0; ib < Blocks; ib++)
        {
            var ls = ((block[ScalesLOffset + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((scalesH >> (2 * ib)) & 3) << 4);
            var dl = d * (ls - 32);
            var qs = block.Slice(QsOffset + 16 * ib, 16);
            var output = y.Slice(32 * ib, 32);
            if (Vector256.IsHardwareAccelerated)
            {
                NibbleTable.Decode16(qs, Table, dl, output);
                continue;
            }
            for (var j = 0; j < 16; j++)
            {
                output[j] = dl * values[qs[j] & 0xF];
                output[j + 16] = dl * values[qs[j] >> 4];
            }
        }
    }
}
