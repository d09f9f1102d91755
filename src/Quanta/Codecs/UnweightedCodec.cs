using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// The block loops of a format whose ggml quantizer ignores importance weights (Q1_0, Q2_0, TQ1_0, TQ2_0, MXFP4,
/// NVFP4): the scalar specification and a vector path with the same bytes, for each direction. Static, so the
/// tests can run each path on any machine.
/// </summary>
internal interface IUnweightedBlockLoops
{
    /// <summary>The specification: ggml's <c>quantize_row_*_ref</c>, block by block.</summary>
    static abstract void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination);

    /// <summary>The same bytes on 256-bit vectors.</summary>
    static abstract void EncodeBlocks256(ReadOnlySpan<float> x, Span<byte> destination);

    /// <summary>The specification: ggml's <c>dequantize_row_*</c>.</summary>
    static abstract void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination);

    /// <summary>The same floats on vectors, bit for bit.</summary>
    static abstract void DecodeBlocksVector(ReadOnlySpan<byte> source, Span<float> destination);

    /// <summary>Whether <see cref="DecodeBlocksVector"/> runs on hardware vectors here: 256-bit ones unless the format needs less.</summary>
    static virtual bool DecodeVectorAccelerated => Vector256.IsHardwareAccelerated;
}

/// <summary>
/// The shared frame of the <see cref="IUnweightedBlockLoops"/> formats: <see cref="RowCodec"/>'s checks, then every
/// row through the vector loops where they are hardware-accelerated and the scalar specification otherwise.
/// </summary>
internal abstract class UnweightedCodec<TCodec>(GgmlType type) : RowCodec(type)
    where TCodec : UnweightedCodec<TCodec>, IUnweightedBlockLoops
{
    /// <summary>Whole blocks on the widest path this machine accelerates; the same bytes as <c>EncodeBlocksScalar</c>.</summary>
    internal static void EncodeBlocks(ReadOnlySpan<float> x, Span<byte> destination)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            TCodec.EncodeBlocks256(x, destination);
        }
        else
        {
            TCodec.EncodeBlocksScalar(x, destination);
        }
    }

    protected sealed override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination) =>
        EncodeBlocks(row, destination);

    protected sealed override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (TCodec.DecodeVectorAccelerated)
        {
            TCodec.DecodeBlocksVector(source, destination);
        }
        else
        {
            TCodec.DecodeBlocksScalar(source, destination);
        }
    }
}
