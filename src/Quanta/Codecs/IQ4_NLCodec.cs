using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ4_NL: blocks of 32 as an fp16 scale and 16 bytes of 4-bit indices into the non-linear table
/// <c>kvalues_iq4nl</c> (value j in the low nibble of byte j, value j+16 in the high nibble). Encodes as
/// ggml's <c>quantize_iq4_nl</c> (the llama-quantize path, 7 trial scales each way), not as
/// <c>quantize_row_iq4_nl_ref</c>, which searches less and writes other bytes.
/// </summary>
internal sealed class IQ4_NLCodec : RowCodec
{
    internal const int BlockElements = 32;
    internal const int BlockBytes = 18;
    const int Lanes = 8;

    public IQ4_NLCodec()
        : this(Vector256.IsHardwareAccelerated)
    {
    }

    /// <param name="vectorized">Search eight blocks at once, one per vector lane; the same bytes either way.</param>
    internal IQ4_NLCodec(bool vectorized)
        : base(GgmlType.IQ4_NL)
    {
        Vectorized = vectorized;
    }

    internal bool Vectorized { get; }

    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        var blocks = row.Length / BlockElements;
        var b = 0;
        if (Vectorized)
        {
            for (; b + Lanes <= blocks; b += Lanes)
            {
                EncodeLanes(row.Slice(b * BlockElements, Lanes * BlockElements),
                    importance.IsEmpty ? default : importance.Slice(b * BlockElements, Lanes * BlockElements),
                    destination.Slice(b * BlockBytes, Lanes * BlockBytes));
            }
        }
        Span<float> weight = stackalloc float[BlockElements];
        for (; b < blocks; b++)
        {
            var xb = row.Slice(b * BlockElements, BlockElements);
            // Each block is its own super-block here, so σ² comes from these 32 values alone.
            NonLinearSearch.FillWeights(xb, importance.IsEmpty ? default : importance.Slice(b * BlockElements, BlockElements),
                NonLinearSearch.Sigma2(xb), weight);
            WriteBlock(xb, NonLinearSearch.SearchBlock(xb, weight), destination.Slice(b * BlockBytes, BlockBytes), vectorized: false);
        }
    }

    /// <summary>Eight consecutive blocks, one per lane; σ² and the weights are computed lane-wise in scalar order.</summary>
    void EncodeLanes(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        Span<Vector256<float>> xt = stackalloc Vector256<float>[BlockElements];
        Span<Vector256<float>> wt = stackalloc Vector256<float>[BlockElements];
        LaneSearch.Transpose(x, BlockElements, xt);
        if (importance.IsEmpty)
        {
            for (var j = 0; j < BlockElements; j++)
            {
                wt[j] = xt[j] * xt[j];
            }
        }
        else
        {
            var sigma2 = Vector256<float>.Zero;
            for (var j = 0; j < BlockElements; j++)
            {
                sigma2 += xt[j] * xt[j];
            }
            sigma2 *= 2f / BlockElements;
            LaneSearch.Transpose(importance, BlockElements, wt);
            for (var j = 0; j < BlockElements; j++)
            {
                wt[j] *= Vector256.Sqrt(sigma2 + xt[j] * xt[j]);
            }
        }
        var scales = NonLinearSearch.SearchLanes(xt, wt);
        for (var k = 0; k < Lanes; k++)
        {
            WriteBlock(x.Slice(k * BlockElements, BlockElements), scales[k], destination.Slice(k * BlockBytes, BlockBytes), Vectorized);
        }
    }

    /// <summary>Stores the scale and re-derives every level from the unrounded float scale, as ggml does.</summary>
    static void WriteBlock(ReadOnlySpan<float> xb, float scale, Span<byte> block, bool vectorized)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(scale));
        var id = scale != 0 ? 1 / scale : 0f;
        if (vectorized)
        {
            NonLinearSearch.PackLevels256(xb, id, block[2..]);
        }
        else
        {
            NonLinearSearch.PackLevels(xb, id, block[2..]);
        }
    }

    static readonly Vector128<sbyte> Table = Vector128.Create(NonLinearSearch.Values);

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
            {
                var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
                NibbleTable.Decode16(source.Slice(o + 2, 16), Table, d, destination.Slice(y, BlockElements));
            }
        }
        else
        {
            DecodeBlocksScalar(source, destination);
        }
    }

    /// <summary>The specification: <c>dequantize_row_iq4_nl</c>, <c>d · kvalues_iq4nl[code]</c>.</summary>
    internal static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var values = NonLinearSearch.Values;
        for (int o = 0, y = 0; o < source.Length; o += BlockBytes, y += BlockElements)
        {
            var d = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source[o..]));
            var qs = source.Slice(o + 2, 16);
            var output = destination.Slice(y, BlockElements);
            for (var j = 0; j < 16; j++)
            {
                output[j] = d * values[qs[j] & 0x0F];
                output[j + 16] = d * values[qs[j] >> 4];
            }
        }
    }
}
