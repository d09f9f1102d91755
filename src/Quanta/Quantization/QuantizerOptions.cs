using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>
/// How a quantization runs and what the output looks like beyond the tensor types: threads, requantizing,
/// metadata overrides, pruning and splitting. The switches that decide tensor types are in
/// <see cref="QuantizationOptions"/>.
/// </summary>
public sealed record QuantizerOptions
{
    public static QuantizerOptions Default { get; } = new();

    /// <summary>Encoding threads; 0 uses every processor (llama-quantize's default).</summary>
    public int Threads { get; init; }

    /// <summary>
    /// <c>--allow-requantize</c>: tensors already in a quantized type may be decoded and quantized again. Off by
    /// default because the result is worse than quantizing from the F16/F32 original.
    /// </summary>
    public bool AllowRequantize { get; init; }

    /// <summary><c>--override-kv</c> values, appended in order after llama.cpp's own keys.</summary>
    public IReadOnlyList<MetadataOverride> MetadataOverrides { get; init; } = [];

    /// <summary><c>--prune-layers</c>, or null.</summary>
    public LayerPruning? PruneLayers { get; init; }

    /// <summary>
    /// Write the output as a split set of shards of at most this many tensor bytes each (gguf-split's
    /// <c>--split-max-size</c>), as if llama-quantize's output had been passed through gguf-split.
    /// </summary>
    public long? SplitMaxBytes { get; init; }

    /// <summary>Write the output as a split set with at most this many tensors per shard (<c>--split-max-tensors</c>).</summary>
    public int? SplitMaxTensors { get; init; }

    /// <summary>
    /// <c>--shards N</c>: write the output as N shards (<c>OUT-0000I-of-0000N.gguf</c>) balanced by estimated
    /// encoding cost (<see cref="ShardPlan"/>), rather than by gguf-split's size or count limits.
    /// </summary>
    public int? Shards { get; init; }

    /// <summary>
    /// <c>--shard I/N</c>: of the <see cref="Shards"/> set, write only shard I (1-based), reading only its tensors.
    /// Each task of a batch job writes its own; the files together are the set <see cref="Shards"/> alone writes.
    /// </summary>
    public int? OnlyShard { get; init; }

    /// <summary>Elements per work item, at least: whole rows, and never fewer than llama.cpp's 16,384.</summary>
    public int ChunkElements { get; init; } = DefaultChunkElements;

    /// <summary>
    /// 64K elements: large enough that hand-offs between threads cost nothing next to the encoding, small
    /// enough that a few per thread stay in cache and a cancellation is seen within milliseconds.
    /// </summary>
    public const int DefaultChunkElements = 1 << 16;

    /// <summary>llama.cpp's <c>min_chunk_size</c>.</summary>
    public const int MinChunkElements = 32 * 512;

    /// <summary>Buffering and disk flushing of the output; its protected inputs and cancellation are set by the quantizer.</summary>
    public GgufWriterOptions? Writer { get; init; }

    /// <summary>The thread count to use: <see cref="Threads"/>, or the processor count when it is 0 or less.</summary>
    public int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;
}
