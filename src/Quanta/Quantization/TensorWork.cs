using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>
/// One output tensor cut into work items: byte ranges to copy when the type stays the same, or runs of whole
/// rows to convert to float32 and encode. Items of all tensors are numbered in one sequence, which is the
/// order their bytes are written in.
/// </summary>
internal sealed class TensorWork
{
    /// <summary>
    /// Bytes per item when a tensor is copied unchanged: big enough for efficient reads and writes, small
    /// enough that a few per thread are not noticed in the process's memory.
    /// </summary>
    internal const int CopyChunkBytes = 1 << 20;

    public TensorWork(int index, QuantizationPlanEntry entry, ISourceTensor source, int file, long firstItem, int chunkElements, float[]? importance = null)
    {
        Importance = importance;
        // A 3-D tensor (experts) is a stack of matrices, each with its own importance weights.
        RowsPerMatrix = entry.Tensor.Shape.Count > 1 ? entry.Tensor.Shape[1] : 1;
        Index = index;
        Entry = entry;
        Source = source;
        File = file;
        FirstItem = firstItem;
        IsCopy = entry.IsCopied;
        RowLength = entry.Tensor.RowLength;
        Rows = entry.Tensor.RowCount;
        if (IsCopy || entry.Tensor.ElementCount == 0)
        {
            ItemCount = (entry.SourceBytes + CopyChunkBytes - 1) / CopyChunkBytes;
            return;
        }
        // Whole rows, at least chunkElements values per item: llama.cpp's chunking, with a bigger minimum.
        RowsPerItem = Math.Max(1, (chunkElements + RowLength - 1) / RowLength);
        ItemCount = (Rows + RowsPerItem - 1) / RowsPerItem;
        SourceRowBytes = GgmlTypeInfo.Of(entry.SourceType).RowBytes(RowLength);
        TargetRowBytes = GgmlTypeInfo.Of(entry.TargetType).RowBytes(RowLength);
        Encoder = BlockCodecs.Get(entry.TargetType);
        if (GgmlTypeInfo.Of(entry.SourceType).IsQuantized)
        {
            Decoder = BlockCodecs.Get(entry.SourceType);
        }
    }

    /// <summary>The importance-matrix weights: one per column, or per column of each matrix of a 3-D tensor; null for none.</summary>
    public float[]? Importance { get; }

    /// <summary>Rows of one matrix (<c>ne[1]</c>): where the next expert's importance weights take over.</summary>
    public long RowsPerMatrix { get; }

    /// <summary>Position in the plan (0-based).</summary>
    public int Index { get; }

    public QuantizationPlanEntry Entry { get; }

    public ISourceTensor Source { get; }

    /// <summary>The output file (shard) the tensor goes to.</summary>
    public int File { get; }

    public long FirstItem { get; }

    public long ItemCount { get; }

    public bool IsCopy { get; }

    public long RowLength { get; }

    public long Rows { get; }

    public long RowsPerItem { get; }

    public long SourceRowBytes { get; }

    public long TargetRowBytes { get; }

    public IBlockCodec? Encoder { get; }

    /// <summary>The codec that turns a quantized source back into floats (requantizing only).</summary>
    public IBlockCodec? Decoder { get; }

    /// <summary>The largest buffers one item of this tensor needs: source bytes, floats, output bytes.</summary>
    public (long Source, long Floats, long Output) ItemBuffers => IsCopy || ItemCount == 0
        ? (0, 0, Math.Min(CopyChunkBytes, Entry.SourceBytes))
        : (RowsPerItem * SourceRowBytes, RowsPerItem * RowLength, RowsPerItem * TargetRowBytes);
}
