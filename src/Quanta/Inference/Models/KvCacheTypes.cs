using Quanta.Formats;

namespace Quanta.Inference.Models;

/// <summary>
/// The KV cache's element types (llama.cpp's <c>--cache-type-k</c> / <c>--cache-type-v</c>): F16 by default; keys may
/// be Q8_0. A quantized V cache needs flash attention in llama.cpp (February 2025), which Quanta does not implement,
/// so it is refused with llama.cpp's reason.
/// </summary>
public sealed record KvCacheTypes(GgmlType Keys, GgmlType Values)
{
    public static KvCacheTypes Default { get; } = new(GgmlType.F16, GgmlType.F16);

    /// <summary>The names <c>--cache-type-k/v</c> accept.</summary>
    public static IReadOnlyList<string> Names { get; } = ["f16", "q8_0"];

    /// <summary>
    /// The types for the option values <paramref name="keys"/> and <paramref name="values"/> (null: f16). Throws
    /// <see cref="ArgumentException"/> with a one-line reason for a name llama.cpp knows but Quanta does not run, or
    /// a quantized V cache.
    /// </summary>
    public static KvCacheTypes Parse(string? keys, string? values)
    {
        var k = ParseOne(keys, "--cache-type-k");
        var v = ParseOne(values, "--cache-type-v");
        if (v != GgmlType.F16)
        {
            // llama_init_from_model: "V cache quantization requires flash_attn".
            throw new ArgumentException($"V cache quantization requires flash_attn, which Quanta does not implement (--cache-type-v {GgmlTypeInfo.Of(v).Name.ToLowerInvariant()}; use f16)");
        }
        return new KvCacheTypes(k, v);
    }

    static GgmlType ParseOne(string? name, string option) => name?.ToLowerInvariant() switch
    {
        null or "f16" => GgmlType.F16,
        "q8_0" => GgmlType.Q8_0,
        _ => throw new ArgumentException($"{option}: unsupported cache type '{name}' (Quanta supports: {string.Join(", ", Names)})"),
    };
}
