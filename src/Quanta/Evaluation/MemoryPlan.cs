using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Quanta.Quantization;

namespace Quanta.Evaluation;

/// <summary>One preset's line of <c>quanta plan</c>: bytes of the file, of the KV cache and of the compute buffers.</summary>
/// <param name="Fits">Whether <see cref="Total"/> is within the budget; null without one.</param>
public sealed record PresetMemory(string Type, long FileSize, long KvCache, long Compute, long Total, bool? Fits);

/// <summary>The context <c>quanta plan</c> sizes for.</summary>
public sealed record MemoryPlanOptions
{
    /// <summary>Tokens of context (<c>--ctx</c>), over all sequences.</summary>
    public int Context { get; init; } = 4096;

    /// <summary>Sequences served at once (<c>--parallel</c>).</summary>
    public int Parallel { get; init; } = 1;

    public GgmlType KeyType { get; init; } = GgmlType.F16;

    public GgmlType ValueType { get; init; } = GgmlType.F16;

    /// <summary>llama.cpp's <c>n_ubatch</c>: tokens evaluated together, which sizes the sliding-window caches and the compute buffers.</summary>
    public int MicroBatch { get; init; } = 512;

    /// <summary>Bytes available, or null.</summary>
    public long? Budget { get; init; }
}

/// <summary>
/// <c>quanta plan</c>: for each preset, the exact size of the file <c>quantize</c> would write (the same plan,
/// the same output metadata, laid out as <see cref="GgufWriter"/> lays it out), the KV cache as llama.cpp (2026)
/// allocates it, the engine's compute buffers, and their total.
/// </summary>
public static class MemoryPlan
{
    /// <summary>Sizes every preset of <paramref name="presets"/> for <paramref name="file"/>, best quality first when a budget is given.</summary>
    public static IReadOnlyList<PresetMemory> For(ITensorSource file, IEnumerable<QuantizationPreset> presets, MemoryPlanOptions options)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(presets);
        ArgumentNullException.ThrowIfNull(options);
        var kv = KvCacheBytes(file.Metadata, options);
        var compute = ComputeBytes(file, options);
        var lines = presets.Select(p =>
        {
            var size = FileSize(file, p);
            var total = size + kv + compute;
            return new PresetMemory(p.Name, size, kv, compute, total, options.Budget is { } budget ? total <= budget : null);
        }).ToList();
        return options.Budget is null ? lines : [.. lines.OrderBy(l => QualityRank(l.Type))];
    }

    /// <summary>
    /// The length of the file <c>quanta quantize FILE OUT PRESET</c> writes (for a checkpoint seen through the
    /// converter, <c>quanta convert DIR --type PRESET</c>).
    /// </summary>
    /// <exception cref="QuantizationException">The preset cannot be planned for this model.</exception>
    public static long FileSize(ITensorSource file, QuantizationPreset preset)
    {
        ArgumentNullException.ThrowIfNull(file);
        var job = QuantizationJob.Create(file, preset, outputPath: null);
        var tensors = job.Plan.Entries.Select(e => new GgufTensorInfo(e.Name, e.Tensor.Shape, e.TargetType)).ToArray();
        return GgufWriter.FileLength(job.Metadata, tensors);
    }

    /// <summary>
    /// The KV cache: each layer keeps keys (<c>head_count_kv × key_length</c>) and values
    /// (<c>head_count_kv × value_length</c>) for each cell, in the cache's types. A full-attention layer has a
    /// cell per token of context; a sliding-window layer (gemma2: every other layer, gemma3: five of six)
    /// <c>min(context, pad(window × parallel + n_ubatch, 256))</c>, as llama.cpp's <c>llama_kv_cache_iswa</c> sizes
    /// them with a unified cache (the February 2025 build gave those layers the full context).
    /// </summary>
    public static long KvCacheBytes(GgufMetadata metadata, MemoryPlanOptions options)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(options);
        var hp = TransformerHyperparameters.FromMetadata(metadata);
        var arch = hp.Architecture;
        var window = metadata.LenientInteger($"{arch}.attention.sliding_window") is { } w ? (int)w : 0;
        var pattern = arch switch
        {
            "gemma2" => 2,
            "gemma3" => 6,
            _ => 0,
        };
        var keyRow = RowBytes(options.KeyType, (long)hp.KvHeadCount * hp.KeyLength);
        var valueRow = RowBytes(options.ValueType, (long)hp.KvHeadCount * hp.ValueLength);
        long total = 0;
        for (var layer = 0; layer < hp.BlockCount; layer++)
        {
            var slidingWindow = pattern > 0 && window > 0 && layer % pattern < pattern - 1;
            long cells = options.Context;
            if (slidingWindow)
            {
                cells = Math.Min(cells, Pad((long)window * options.Parallel + options.MicroBatch, 256));
            }
            total += cells * (keyRow + valueRow);
        }
        return total;
    }

    /// <summary>
    /// An estimate of the engine's buffers for one micro-batch: the logits, the hidden states and the feed-forward
    /// activations of each token, and one head's attention scores over the context, in float32.
    /// </summary>
    public static long ComputeBytes(ITensorSource file, MemoryPlanOptions options)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(options);
        var hp = TransformerHyperparameters.FromMetadata(file.Metadata);
        var vocabulary = file.Tensors.FirstOrDefault(t => t.Info.Name == "token_embd.weight") is { } embedding ? embedding.Info.Shape[1] : 0;
        long tokens = Math.Min(options.MicroBatch, options.Context);
        var perToken = vocabulary + 4L * hp.EmbeddingLength + 3L * hp.FeedForwardLength + (long)hp.HeadCount * options.Context;
        return tokens * perToken * sizeof(float);
    }

    static long RowBytes(GgmlType type, long elements)
    {
        var info = GgmlTypeInfo.Of(type);
        return elements / info.BlockElements * info.BlockBytes;
    }

    static long Pad(long value, long to) => (value + to - 1) / to * to;

    /// <summary>Position in llama.cpp's published quality table (lower KL divergence first); unknown presets last, larger first.</summary>
    static double QualityRank(string type) =>
        QuantizationPresets.TryParse(type, out var preset) && PublishedQualityFigures.For(preset) is { KlDivergence: { } kld } ? kld : double.MaxValue;
}
