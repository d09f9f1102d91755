using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// The shared codec of Q4_0, Q4_1, Q5_0 and Q5_1: the no-importance loops of <see cref="LegacyCodec{TFormat}"/>,
/// ggml's importance path (<c>quantize_row_q4_0_impl</c> and siblings: <c>make_qx_quants</c> for the symmetric
/// kinds, <c>make_qkx3_quants</c> for the affine ones, on weights <c>w = importance · √(σ² + x²)</c>) over one <see cref="INibbleLayout"/>.
/// </summary>
internal abstract class NibbleCodec<TLayout>(GgmlType type) : LegacyCodec<NibbleBlocks<TLayout>>(type)
    where TLayout : struct, INibbleLayout
{
    const int Lanes = LaneSearch.Lanes;

    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        if (importance.IsEmpty)
        {
            EncodeBlocks(row, destination);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            EncodeRowWeightedLanes(row, importance, destination);
        }
        else
        {
            EncodeRowWeightedScalar(row, importance, destination);
        }
    }

    /// <summary>The specification: ggml's importance path, one block at a time.</summary>
    internal static void EncodeRowWeightedScalar(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        Span<float> weight = stackalloc float[BlockElements];
        Span<byte> levels = stackalloc byte[BlockElements];
        Span<byte> scratch = stackalloc byte[BlockElements];
        EncodeWeightedBlocks(x, importance, LegacyWeights.RowSigma2(x), 0, destination, weight, levels, scratch);
    }

    /// <summary>
    /// Eight blocks at a time, one per lane (see <see cref="LaneSearch"/>): each lane runs the scalar search's
    /// operations in its order, so the bytes are those of <see cref="EncodeRowWeightedScalar"/>. The blocks left
    /// over go through the scalar code.
    /// </summary>
    internal static void EncodeRowWeightedLanes(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        Span<Vector256<float>> xt = stackalloc Vector256<float>[BlockElements];
        Span<Vector256<float>> wt = stackalloc Vector256<float>[BlockElements];
        Span<Vector256<int>> lt = stackalloc Vector256<int>[BlockElements];
        Span<Vector256<int>> scratchLanes = stackalloc Vector256<int>[BlockElements];
        Span<int> packed = stackalloc int[16 * Lanes];
        var sigma2 = LegacyWeights.RowSigma2(x);
        var sigma2Vector = Vector256.Create(sigma2);
        var blocks = x.Length / BlockElements;
        var b = 0;
        for (; b + Lanes <= blocks; b += Lanes)
        {
            LaneSearch.Transpose(x[(b * BlockElements)..], BlockElements, xt);
            LaneSearch.Transpose(importance[(b * BlockElements)..], BlockElements, wt);
            for (var i = 0; i < BlockElements; i++)
            {
                wt[i] *= Vector256.Sqrt(sigma2Vector + xt[i] * xt[i]); // LegacyWeights.Fill lane by lane
            }
            Vector256<float> scale;
            var min = Vector256<float>.Zero;
            if (TLayout.Affine)
            {
                scale = LaneSearch.Affine(xt, wt, NibbleBlocks<TLayout>.Top, lt, scratchLanes, -0.9f, 0.05f, 36, false, out var negatedMin);
                min = -negatedMin;
            }
            else
            {
                scale = LaneSearch.Symmetric(xt, NibbleBlocks<TLayout>.ZeroLevel, lt, wt, scratchLanes);
            }
            PackLanes(lt, scale, min, packed, destination[(b * BlockBytes)..]);
        }
        if (b < blocks)
        {
            Span<float> weight = stackalloc float[BlockElements];
            Span<byte> levels = stackalloc byte[BlockElements];
            Span<byte> scratch = stackalloc byte[BlockElements];
            EncodeWeightedBlocks(x, importance, sigma2, b, destination, weight, levels, scratch);
        }
    }

    static void EncodeWeightedBlocks(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, float sigma2, int firstBlock,
        Span<byte> destination, Span<float> weight, Span<byte> levels, Span<byte> scratch)
    {
        for (int b = firstBlock * BlockElements, o = firstBlock * BlockBytes; b < x.Length; b += BlockElements, o += BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            LegacyWeights.Fill(xb, importance.Slice(b, BlockElements), sigma2, weight);
            var block = destination.Slice(o, BlockBytes);
            float d;
            if (TLayout.Affine)
            {
                d = AffineSearch.MakeQkx3(xb, NibbleBlocks<TLayout>.Top, weight, levels, out var negatedMin, scratch, -0.9f, 0.05f, 36, false);
                BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(-negatedMin));
            }
            else
            {
                // L = q + nmax in 0..2·nmax−1, or 0 for an all-zero block: a byte either way.
                d = SymmetricSearch.MakeQx(xb, NibbleBlocks<TLayout>.ZeroLevel, MemoryMarshal.Cast<byte, sbyte>(levels), weight);
            }
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
            uint qh = 0;
            for (var j = 0; j < 16; j++)
            {
                var q0 = levels[j];
                var q1 = levels[j + 16];
                block[NibbleBlocks<TLayout>.QsOffset + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            if (TLayout.FifthBit)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(block[NibbleBlocks<TLayout>.QhOffset..], qh);
            }
        }
    }

    /// <summary>Writes the eight blocks whose levels sit one per lane in <paramref name="levels"/>.</summary>
    static void PackLanes(ReadOnlySpan<Vector256<int>> levels, Vector256<float> scale, Vector256<float> min, Span<int> packed,
        Span<byte> destination)
    {
        var low = Vector256.Create(0x0F);
        var qh = Vector256<int>.Zero;
        for (var j = 0; j < 16; j++)
        {
            var q0 = levels[j];
            var q1 = levels[j + 16];
            ((q0 & low) | Vector256.ShiftLeft(q1 & low, 4)).CopyTo(packed[(j * Lanes)..]);
            if (TLayout.FifthBit)
            {
                qh |= Vector256.ShiftLeft(Vector256.ShiftRightLogical(q0, 4) & Vector256<int>.One, j)
                    | Vector256.ShiftLeft(Vector256.ShiftRightLogical(q1, 4) & Vector256<int>.One, j + 16);
            }
        }
        for (var k = 0; k < Lanes; k++)
        {
            var block = destination.Slice(k * BlockBytes, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(scale.GetElement(k)));
            if (TLayout.Affine)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(block[2..], Fp16.FromFloat(min.GetElement(k)));
            }
            if (TLayout.FifthBit)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(block[NibbleBlocks<TLayout>.QhOffset..], (uint)qh.GetElement(k));
            }
            var qs = block.Slice(NibbleBlocks<TLayout>.QsOffset, 16);
            for (var j = 0; j < 16; j++)
            {
                qs[j] = (byte)packed[j * Lanes + k];
            }
        }
    }
}
