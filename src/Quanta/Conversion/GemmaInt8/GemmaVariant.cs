namespace Quanta.Conversion.GemmaInt8;

/// <summary>The Gemma generation: it decides which norms exist and how GGUF names them.</summary>
public enum GemmaGeneration
{
    Gemma1 = 1,
    Gemma2 = 2,
    Gemma3 = 3,
}

/// <summary>
/// The hyperparameters of a gemma_pytorch model variant (<c>gemma/config.py</c>, <c>get_model_config</c>), which the
/// checkpoint does not store: the caller names the variant (<c>--variant</c>) or it is recognised from the shapes.
/// </summary>
public sealed record GemmaVariant(
    string Name,
    GemmaGeneration Generation,
    int Layers,
    int Heads,
    int KvHeads,
    int Hidden,
    int Intermediate,
    int HeadDim,
    int Vocab)
{
    /// <summary>Rows of the fused <c>qkv_proj</c>: Q, then K, then V heads.</summary>
    public int QkvRows => (Heads + (2 * KvHeads)) * HeadDim;

    /// <summary>The variants gemma_pytorch defines, under its names.</summary>
    public static IReadOnlyList<GemmaVariant> Known { get; } =
    [
        new("2b", GemmaGeneration.Gemma1, 18, 8, 1, 2048, 16384, 256, 256000),
        new("7b", GemmaGeneration.Gemma1, 28, 16, 16, 3072, 24576, 256, 256000),
        new("2b-v2", GemmaGeneration.Gemma2, 26, 8, 4, 2304, 9216, 256, 256000),
        new("9b", GemmaGeneration.Gemma2, 42, 16, 8, 3584, 14336, 256, 256000),
        new("27b", GemmaGeneration.Gemma2, 46, 32, 16, 4608, 36864, 128, 256000),
        new("1b", GemmaGeneration.Gemma3, 26, 4, 1, 1152, 6912, 256, 262144),
        new("4b", GemmaGeneration.Gemma3, 34, 8, 4, 2560, 10240, 256, 262144),
        new("12b", GemmaGeneration.Gemma3, 48, 16, 8, 3840, 15360, 256, 262144),
        new("27b_v3", GemmaGeneration.Gemma3, 62, 32, 16, 5376, 21504, 128, 262144),
    ];

    /// <summary>The known variant named <paramref name="name"/> (case-insensitive; <c>27b-v3</c> = <c>27b_v3</c>), or null.</summary>
    public static GemmaVariant? Find(string name)
    {
        var wanted = name.Trim().Replace('-', '_');
        return Known.FirstOrDefault(v => string.Equals(v.Name.Replace('-', '_'), wanted, StringComparison.OrdinalIgnoreCase));
    }
}
