using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Shared shape of the K-quant codecs: 256-element super-blocks, arguments checked before any work, then one
/// super-block at a time. ggml quantizes a whole tensor with the <c>_ref</c> function when there is no
/// importance matrix and row by row with the <c>_impl</c> function when there is; since neither carries state
/// across super-blocks, both reduce to a per-super-block routine that is told where its importance weights are.
/// </summary>
public abstract class SuperBlockCodec : IBlockCodec
{
    /// <summary>ggml's <c>QK_K</c>.</summary>
    public const int SuperBlockSize = 256;

    private readonly int _blockBytes;

    /// <param name="type">The block format.</param>
    /// <param name="vectorized">
    /// Run the searches lane-parallel (see <see cref="Search.LaneSearch"/>). Both paths give identical bytes; the
    /// public constructors choose the vector path where 256-bit vectors are hardware-accelerated, tests force each.
    /// </param>
    protected SuperBlockCodec(GgmlType type, bool vectorized)
    {
        Type = type;
        Vectorized = vectorized;
        _blockBytes = GgmlTypeInfo.Of(type).BlockBytes;
    }

    /// <summary>Whether this instance runs the lane-parallel searches.</summary>
    internal bool Vectorized { get; }

    /// <summary>The default for <see cref="Vectorized"/>: lanes only pay off with hardware vectors.</summary>
    protected static bool VectorizeByDefault => System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated;

    public GgmlType Type { get; }

    public bool CanEncode => true;

    /// <summary>Bytes of one encoded super-block.</summary>
    public int BlockBytes => _blockBytes;

    public void Encode(ReadOnlySpan<float> rows, int rowLength, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        var info = GgmlTypeInfo.Of(Type);
        var rowCount = CodecArguments.CheckEncode(info, rows.Length, rowLength, importance, destination.Length);
        var blocksPerRow = rowLength / SuperBlockSize;
        if (RequiresImportance && importance.IsEmpty && rowCount > 0)
        {
            throw new ArgumentException(
                $"{info.Name} needs importance weights (an importance matrix); ggml refuses to quantize it without them", nameof(importance));
        }
        for (var r = 0; r < rowCount; ++r)
        {
            var row = rows.Slice(r * rowLength, rowLength);
            CodecArguments.ThrowIfNonFinite(row, r);
            for (var b = 0; b < blocksPerRow; ++b)
            {
                var x = row.Slice(b * SuperBlockSize, SuperBlockSize);
                var y = destination.Slice(((r * blocksPerRow) + b) * _blockBytes, _blockBytes);
                if (importance.IsEmpty)
                {
                    EncodeBlock(x, y);
                }
                else
                {
                    // ggml indexes the weights by column within the row: quant_weights + QK_K * (block in row).
                    EncodeBlockWeighted(x, importance.Slice(b * SuperBlockSize, SuperBlockSize), y);
                }
            }
        }
    }

    public void Decode(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var blocks = CodecArguments.CheckDecode(GgmlTypeInfo.Of(Type), source.Length, destination.Length);
        for (var b = 0; b < blocks; ++b)
        {
            DecodeBlock(source.Slice(b * _blockBytes, _blockBytes), destination.Slice(b * SuperBlockSize, SuperBlockSize));
        }
    }

    /// <summary>
    /// Formats ggml quantizes only with importance weights (IQ2_XXS, IQ2_XS: <c>GGML_ASSERT(quant_weights)</c>):
    /// encoding without them is refused before anything is written, and <see cref="EncodeBlock"/> is never called.
    /// </summary>
    public virtual bool RequiresImportance => false;

    /// <summary>One super-block on ggml's no-importance path (<c>quantize_row_*_ref</c>).</summary>
    protected abstract void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block);

    /// <summary>One super-block on ggml's importance path (<c>quantize_row_*_impl</c> with weights).</summary>
    protected abstract void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block);

    /// <summary>One super-block of ggml's <c>dequantize_row_*</c>.</summary>
    protected abstract void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y);
}
