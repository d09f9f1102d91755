using Quanta.Formats.Gguf;

namespace Quanta.Inference.Models;

/// <summary>
/// What a llama-style forward pass needs to know, read from the GGUF's <c>{arch}.*</c> keys only, with
/// llama.cpp's defaults where a key may be absent (head dimension = width / heads, KV heads = heads, rope over
/// the whole head, rope base 10000).
/// </summary>
public sealed record TransformerHyperparameters(
    string Architecture,
    int EmbeddingLength,
    int BlockCount,
    int FeedForwardLength,
    int HeadCount,
    int KvHeadCount,
    int KeyLength,
    int ValueLength,
    int RopeDimensions,
    float RopeFreqBase,
    float RmsEpsilon,
    int ContextLength)
{
    /// <summary><c>{arch}.expert_count</c>: experts per MoE layer, 0 for a dense model.</summary>
    public int ExpertCount { get; init; }

    /// <summary><c>{arch}.expert_used_count</c>: experts each token is routed to.</summary>
    public int ExpertUsedCount { get; init; }

    /// <summary>
    /// Rope frequency scale: 1 / <c>{arch}.rope.scaling.factor</c> (or the older <c>rope.scale_linear</c>), 1 without
    /// one, as llama.cpp's <c>rope_freq_scale_train</c>.
    /// </summary>
    public float RopeFreqScale { get; init; } = 1f;

    /// <summary>
    /// <c>{arch}.pooling_type</c>: how embeddings pool the token states; without the key, mean (llama.cpp's
    /// <c>--pooling</c> default for decoder models' embeddings).
    /// </summary>
    public Embeddings.PoolingType Pooling { get; init; } = Embeddings.PoolingType.Mean;

    public static TransformerHyperparameters FromMetadata(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var arch = metadata.GetStringOrNull(GgufKeys.Architecture) ?? throw new GgufFormatException($"the model has no {GgufKeys.Architecture} key");
        var width = RequiredInt(metadata, $"{arch}.embedding_length");
        var heads = RequiredInt(metadata, $"{arch}.attention.head_count");
        var kvHeads = OptionalInt(metadata, $"{arch}.attention.head_count_kv") ?? heads;
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
        {
            throw new GgufFormatException($"{arch}.attention.head_count ({heads}) should be a positive multiple of {arch}.attention.head_count_kv ({kvHeads})");
        }
        var keyLength = OptionalInt(metadata, $"{arch}.attention.key_length") ?? width / heads;
        return new TransformerHyperparameters(
            arch,
            width,
            RequiredInt(metadata, $"{arch}.block_count"),
            RequiredInt(metadata, $"{arch}.feed_forward_length"),
            heads,
            kvHeads,
            keyLength,
            OptionalInt(metadata, $"{arch}.attention.value_length") ?? width / heads,
            OptionalInt(metadata, $"{arch}.rope.dimension_count") ?? keyLength,
            OptionalFloat(metadata, $"{arch}.rope.freq_base") ?? 10000f,
            OptionalFloat(metadata, $"{arch}.attention.layer_norm_rms_epsilon") ?? throw new GgufFormatException($"the model has no {arch}.attention.layer_norm_rms_epsilon key"),
            OptionalInt(metadata, $"{arch}.context_length") ?? 0)
        {
            ExpertCount = OptionalInt(metadata, $"{arch}.expert_count") ?? 0,
            ExpertUsedCount = OptionalInt(metadata, $"{arch}.expert_used_count") ?? 0,
            Pooling = OptionalInt(metadata, $"{arch}.pooling_type") is { } pooling ? Embeddings.PoolingTypes.FromId(pooling, $"{arch}.pooling_type") : Embeddings.PoolingType.Mean,
            RopeFreqScale = (OptionalFloat(metadata, $"{arch}.rope.scaling.factor") ?? OptionalFloat(metadata, $"{arch}.rope.scale_linear") ?? 0f) is var factor && factor != 0f ? 1f / factor : 1f,
        };
    }

    internal static int RequiredInt(GgufMetadata metadata, string key) =>
        OptionalInt(metadata, key) ?? throw new GgufFormatException($"the model has no {key} key");

    internal static int? OptionalInt(GgufMetadata metadata, string key)
    {
        if (!metadata.TryGetValue(key, out var value))
        {
            return null;
        }
        if (!value.TryGetInteger(out var n) || n is < 0 or > int.MaxValue)
        {
            // A per-layer array (head counts that differ by layer) is a shape this forward pass does not run.
            throw new GgufFormatException($"key {key} should be one non-negative integer, not {value}");
        }
        return (int)n;
    }

    internal static float? OptionalFloat(GgufMetadata metadata, string key)
    {
        if (!metadata.TryGetValue(key, out var value))
        {
            return null;
        }
        return value.Type switch
        {
            GgufValueType.Float32 => value.AsFloat32(),
            GgufValueType.Float64 => (float)value.AsFloat64(),
            _ => throw new GgufFormatException($"key {key} should be a float, not {value}"),
        };
    }
}
