namespace Quanta.Inference.Sampling;

/// <summary>
/// The filters llama-cli's <c>--samplers</c> / <c>--sampling-seq</c> can order (<c>common_sampler_type</c>);
/// the draw (or mirostat) always comes last.
/// </summary>
public enum SamplerStage
{
    /// <summary>Repeat, frequency and presence penalties (<c>penalties</c>, <c>e</c>).</summary>
    Penalties,

    /// <summary>DRY (<c>dry</c>, <c>d</c>).</summary>
    Dry,

    /// <summary>Top-k (<c>top_k</c>, <c>k</c>).</summary>
    TopK,

    /// <summary>Locally typical sampling (<c>typ_p</c>, <c>y</c>).</summary>
    TypicalP,

    /// <summary>Top-p (<c>top_p</c>, <c>p</c>).</summary>
    TopP,

    /// <summary>Min-p (<c>min_p</c>, <c>m</c>).</summary>
    MinP,

    /// <summary>XTC (<c>xtc</c>, <c>x</c>).</summary>
    Xtc,

    /// <summary>Temperature, with the dynamic range (<c>temperature</c>, <c>t</c>).</summary>
    Temperature,
}

/// <summary>llama-cli's names for the <see cref="SamplerStage"/>s (<c>common_sampler_types_from_names/chars</c>).</summary>
public static class SamplerStages
{
    /// <summary>llama-cli's default order: penalties, DRY, top-k, typical, top-p, min-p, XTC, temperature.</summary>
    public static IReadOnlyList<SamplerStage> Default { get; } =
    [
        SamplerStage.Penalties, SamplerStage.Dry, SamplerStage.TopK, SamplerStage.TypicalP,
        SamplerStage.TopP, SamplerStage.MinP, SamplerStage.Xtc, SamplerStage.Temperature,
    ];

    static readonly Dictionary<string, SamplerStage> Names = new(StringComparer.Ordinal)
    {
        ["penalties"] = SamplerStage.Penalties,
        ["dry"] = SamplerStage.Dry,
        ["top_k"] = SamplerStage.TopK,
        ["typ_p"] = SamplerStage.TypicalP,
        ["top_p"] = SamplerStage.TopP,
        ["min_p"] = SamplerStage.MinP,
        ["xtc"] = SamplerStage.Xtc,
        ["temperature"] = SamplerStage.Temperature,
        // the alternative spellings llama-cli's --samplers also accepts
        ["top-k"] = SamplerStage.TopK,
        ["top-p"] = SamplerStage.TopP,
        ["nucleus"] = SamplerStage.TopP,
        ["typical-p"] = SamplerStage.TypicalP,
        ["typical"] = SamplerStage.TypicalP,
        ["typ-p"] = SamplerStage.TypicalP,
        ["typ"] = SamplerStage.TypicalP,
        ["min-p"] = SamplerStage.MinP,
        ["temp"] = SamplerStage.Temperature,
    };

    static readonly Dictionary<char, SamplerStage> Letters = new()
    {
        ['e'] = SamplerStage.Penalties,
        ['d'] = SamplerStage.Dry,
        ['k'] = SamplerStage.TopK,
        ['y'] = SamplerStage.TypicalP,
        ['p'] = SamplerStage.TopP,
        ['m'] = SamplerStage.MinP,
        ['x'] = SamplerStage.Xtc,
        ['t'] = SamplerStage.Temperature,
    };

    /// <summary>
    /// <c>--samplers "penalties;top_k;temperature"</c>: names separated by semicolons; unknown names are
    /// skipped, as llama-cli skips them.
    /// </summary>
    public static IReadOnlyList<SamplerStage> FromNames(string names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return [.. names.Split(';').Where(Names.ContainsKey).Select(n => Names[n])];
    }

    /// <summary><c>--sampling-seq ekt</c>: one letter per stage; unknown letters are skipped.</summary>
    public static IReadOnlyList<SamplerStage> FromLetters(string letters)
    {
        ArgumentNullException.ThrowIfNull(letters);
        return [.. letters.Where(Letters.ContainsKey).Select(c => Letters[c])];
    }
}
