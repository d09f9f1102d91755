using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// What one legacy 32-value block format (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) supplies to the shared block loops of
/// <see cref="LegacyCodec{TFormat}"/>. Implemented by structs, so every loop is compiled once per format with
/// these calls inlined.
/// </summary>
internal interface ILegacyBlockFormat
{
    static abstract int BlockBytes { get; }

    /// <summary>The specification: ggml's <c>quantize_row_*_ref</c> on one block.</summary>
    static abstract void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block);

    /// <summary>
    /// The same block on 256-bit vectors; false (the block may be partly written) for a block only the scalar
    /// code gets right, which the loop then hands to <see cref="EncodeBlock"/>.
    /// </summary>
    static abstract bool TryEncodeBlock256(ReadOnlySpan<float> x, Span<byte> block);

    /// <summary>128-bit form of <see cref="TryEncodeBlock256"/>.</summary>
    static abstract bool TryEncodeBlock128(ReadOnlySpan<float> x, Span<byte> block);

    /// <summary>The specification: ggml's <c>dequantize_row_*</c> on one block.</summary>
    static abstract void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y);

    /// <summary>The same on 256-bit vectors, bit for bit: each lane converts a small integer (exact) and applies the scale as the scalar code does.</summary>
    static abstract void DecodeBlock256(ReadOnlySpan<byte> block, Span<float> y);
}

/// <summary>
/// The no-importance encode loops and the decode loops every legacy format shares: the widest accelerated vectors, block by block,
/// with the scalar specification for the blocks a vector path leaves to it.
/// </summary>
internal abstract class LegacyCodec<TFormat>(GgmlType type) : RowCodec(type)
    where TFormat : struct, ILegacyBlockFormat
{
    internal const int BlockElements = 32;

    internal static int BlockBytes => TFormat.BlockBytes;

    /// <summary>The reference quantizer on the widest accelerated vectors; the same bytes as <see cref="EncodeBlocksScalar"/>.</summary>
    internal static void EncodeBlocks(ReadOnlySpan<float> x, Span<byte> destination)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            EncodeBlocks256(x, destination);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            EncodeBlocks128(x, destination);
        }
        else
        {
            EncodeBlocksScalar(x, destination);
        }
    }

    // Each path is a method of its own: inlined into RowCodec's row loop, its code gets slower.
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void EncodeBlocks256(ReadOnlySpan<float> x, Span<byte> destination) => EncodeLoop(x, destination, 256);

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void EncodeBlocks128(ReadOnlySpan<float> x, Span<byte> destination) => EncodeLoop(x, destination, 128);

    /// <summary>The specification: the reference quantizer block by block.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void EncodeBlocksScalar(ReadOnlySpan<float> x, Span<byte> destination) => EncodeLoop(x, destination, 0);

    // `width` is a constant at every call, so the JIT keeps only one path.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void EncodeLoop(ReadOnlySpan<float> x, Span<byte> destination, int width)
    {
        for (int b = 0, o = 0; b < x.Length; b += BlockElements, o += TFormat.BlockBytes)
        {
            var xb = x.Slice(b, BlockElements);
            var block = destination.Slice(o, TFormat.BlockBytes);
            var done = width switch
            {
                256 => TFormat.TryEncodeBlock256(xb, block),
                128 => TFormat.TryEncodeBlock128(xb, block),
                _ => false,
            };
            if (!done)
            {
                TFormat.EncodeBlock(xb, block);
            }
        }
    }

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            DecodeBlocks256(source, destination);
        }
        else
        {
            DecodeBlocksScalar(source, destination);
        }
    }

    /// <summary>The specification: ggml's <c>dequantize_row_*</c>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void DecodeBlocksScalar(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += TFormat.BlockBytes, y += BlockElements)
        {
            TFormat.DecodeBlock(source.Slice(o, TFormat.BlockBytes), destination.Slice(y, BlockElements));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void DecodeBlocks256(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int o = 0, y = 0; o < source.Length; o += TFormat.BlockBytes, y += BlockElements)
        {
            TFormat.DecodeBlock256(source.Slice(o, TFormat.BlockBytes), destination.Slice(y, BlockElements));
        }
    }

    /// <summary>Every block of a row through <see cref="EncodeBlocks"/>; formats with an importance path override this.</summary>
    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination) =>
        EncodeBlocks(row, destination);
}
