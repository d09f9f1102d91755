using Quanta.Formats.Gguf;

namespace Quanta.Formats.Models;

/// <summary>
/// The few model facts llama.cpp's mix rules look at: architecture, block count, attention heads per layer
/// (query and key/value, for the grouped-query factor), expert count, and whether llama.cpp would call the
/// model a "70B".
/// </summary>
public sealed class ModelHyperparameters
{
    readonly int[] _headCounts;
    readonly int[] _kvHeadCounts;

    /// <param name="architecture"><c>general.architecture</c>, e.g. <c>llama</c>.</param>
    /// <param name="layerCount"><c>{arch}.block_count</c>.</param>
    /// <param name="headCounts">Query heads per layer (<c>{arch}.attention.head_count</c>), one entry per layer.</param>
    /// <param name="kvHeadCounts">Key/value heads per layer (<c>{arch}.attention.head_count_kv</c>).</param>
    /// <param name="expertCount"><c>{arch}.expert_count</c>; 0 for dense models.</param>
    /// <param name="is70B">
    /// Whether llama.cpp's loader would set <c>LLM_TYPE_70B</c>; null derives it (see <see cref="Is70B"/>).
    /// </param>
    public ModelHyperparameters(
        string architecture,
        int layerCount,
        IReadOnlyList<int> headCounts,
        IReadOnlyList<int> kvHeadCounts,
        int expertCount = 0,
        bool? is70B = null)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(headCounts);
        ArgumentNullException.ThrowIfNull(kvHeadCounts);
        ArgumentOutOfRangeException.ThrowIfNegative(layerCount);
        ArgumentOutOfRangeException.ThrowIfNegative(expertCount);
        if (headCounts.Count != layerCount || kvHeadCounts.Count != layerCount)
        {
            throw new ArgumentException($"head counts must have one entry per layer ({layerCount}); got {headCounts.Count} and {kvHeadCounts.Count}");
        }
        if (headCounts.Any(n => n < 0) || kvHeadCounts.Any(n => n < 0))
        {
            throw new ArgumentException("head counts cannot be negative");
        }
        Architecture = architecture;
        LayerCount = layerCount;
        _headCounts = [.. headCounts];
        _kvHeadCounts = [.. kvHeadCounts];
        ExpertCount = expertCount;
        Is70B = is70B ?? Derive70B(architecture, layerCount, _headCounts, _kvHeadCounts);
    }

    /// <summary><c>general.architecture</c> of a multimodal projector file (llava / llama.cpp mmproj).</summary>
    public const string ClipArchitecture = "clip";

    public string Architecture { get; }

    /// <summary>Blocks in the model (llama.cpp's <c>n_layer_all</c>): the ffn counters' denominator.</summary>
    public int LayerCount { get; }

    public int ExpertCount { get; }

    /// <summary>
    /// llama.cpp's <c>LLM_TYPE_70B</c>, which moves attn_v from Q3_K/Q4_K to Q5_K. Derived, when not given, as
    /// the loaders of the 2026 source set it: 80 blocks and architecture <c>llama</c> with grouped-query
    /// attention (without it an 80-block llama is a 65B), <c>deci</c>, <c>olmoe</c> or <c>qwen2</c>. Other
    /// architectures never get that label from an 80-block count, so the rule does not apply to them.
    /// </summary>
    public bool Is70B { get; }

    /// <summary>Falcon takes its own branches in several rules.</summary>
    public bool IsFalcon => Architecture == "falcon";

    public int HeadCount(int layer) => _headCounts[layer];

    public int KvHeadCount(int layer) => _kvHeadCounts[layer];

    /// <summary>
    /// Query heads per key/value head in layer 0 (<c>hparams.n_gqa()</c>), 0 when the layer has no key/value
    /// heads. Integer division, as in llama.cpp.
    /// </summary>
    public int GroupedQueryFactor =>
        LayerCount == 0 || _kvHeadCounts[0] == 0 ? 0 : _headCounts[0] / _kvHeadCounts[0];

    /// <summary>Same head counts in every layer.</summary>
    public static ModelHyperparameters Uniform(string architecture, int layerCount, int headCount, int kvHeadCount, int expertCount = 0) =>
        new(architecture, layerCount, Enumerable.Repeat(headCount, layerCount).ToArray(),
            Enumerable.Repeat(kvHeadCount, layerCount).ToArray(), expertCount);

    /// <summary>
    /// Reads the hyperparameters as llama.cpp's loader does: block count required; head counts optional and
    /// either one number for all layers or an array with one entry per layer; key/value heads default to the
    /// query heads; expert count defaults to 0.
    /// </summary>
    public static ModelHyperparameters FromMetadata(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var architecture = metadata.GetStringOrNull(GgufKeys.Architecture)
            ?? throw new GgufFormatException($"the model has no {GgufKeys.Architecture} key");
        if (architecture == ClipArchitecture)
        {
            // llama.cpp loads no hyperparameters for a projector file (only its tensors), so its mix rules see
            // 0 blocks, 0 heads and no experts; a clip file has no clip.block_count key to read anyway.
            return new ModelHyperparameters(architecture, 0, [], []);
        }
        var blockCountKey = $"{architecture}.block_count";
        if (!metadata.TryGetValue(blockCountKey, out var blockCount))
        {
            throw new GgufFormatException($"the model has no {blockCountKey} key");
        }
        var layerCount = (int)ReadCount(blockCountKey, blockCount);

        var headKey = $"{architecture}.attention.head_count";
        var heads = ReadPerLayer(metadata, headKey, layerCount) ?? new int[layerCount];
        var kvHeads = ReadPerLayer(metadata, $"{architecture}.attention.head_count_kv", layerCount) ?? heads;

        var expertKey = $"{architecture}.expert_count";
        var experts = metadata.TryGetValue(expertKey, out var expertValue) ? (int)ReadCount(expertKey, expertValue) : 0;
        return new ModelHyperparameters(architecture, layerCount, heads, kvHeads, experts);
    }

    static int[]? ReadPerLayer(GgufMetadata metadata, string key, int layerCount)
    {
        if (!metadata.TryGetValue(key, out var value))
        {
            return null;
        }
        if (value.Type != GgufValueType.Array)
        {
            return Enumerable.Repeat((int)ReadCount(key, value), layerCount).ToArray();
        }
        var items = value.AsArray().Items;
        if (items.Length != layerCount)
        {
            // llama.cpp: "key %s has wrong array length; expected %u, got %u"
            throw new GgufFormatException($"key {key} has wrong array length; expected {layerCount}, got {items.Length}");
        }
        var counts = new int[layerCount];
        for (var i = 0; i < layerCount; i++)
        {
            counts[i] = (int)ReadCount(key, GgufValueFromItem(items.GetValue(i)));
        }
        return counts;
    }

    static long ReadCount(string key, GgufValue value)
    {
        if (!value.TryGetInteger(out var n) || n is < 0 or > int.MaxValue)
        {
            throw new GgufFormatException($"key {key} should be a non-negative integer, not {value}");
        }
        return n;
    }

    static GgufValue GgufValueFromItem(object? item) => item switch
    {
        byte v => GgufValue.UInt8(v),
        sbyte v => GgufValue.Int8(v),
        ushort v => GgufValue.UInt16(v),
        short v => GgufValue.Int16(v),
        uint v => GgufValue.UInt32(v),
        int v => GgufValue.Int32(v),
        ulong v => GgufValue.UInt64(v),
        long v => GgufValue.Int64(v),
        _ => GgufValue.String(item?.ToString() ?? "null"),
    };

    static bool Derive70B(string architecture, int layerCount, int[] heads, int[] kvHeads) =>
        layerCount == 80 && architecture switch
        {
            "llama" => heads[0] != kvHeads[0],
            "deci" or "olmoe" or "qwen2" => true,
            _ => false,
        };
}
