using System.Collections.Frozen;

namespace Quanta.Formats.Gguf;

/// <summary>One row of <see cref="LlamaFileTypes"/>: a current <c>llama_ftype</c> and its two spellings.</summary>
/// <param name="FileType">The number, as <c>general.file_type</c> stores it.</param>
/// <param name="Name">The preset name <c>llama-quantize</c> and Ollama show (<c>Q4_K_M</c>).</param>
/// <param name="LlamaCppName">
/// What llama.cpp itself prints for it when it loads a model (<c>llama_ftype_name</c>: <c>Q4_K - Medium</c>).
/// </param>
public sealed record LlamaFileTypeInfo(LlamaFileType FileType, string Name, string LlamaCppName)
{
    public int Number => (int)FileType;
}

/// <summary>
/// llama.cpp's file types (<c>enum llama_ftype</c>), one row each: the values <c>general.file_type</c>
/// holds, the names presets and summaries show, and llama.cpp's own descriptions. The value says which preset
/// produced the file, not the type of every tensor, so it is shown as users know the preset: <c>Q4_K_M</c>, as
/// <c>llama-quantize</c> and Ollama spell it. The quantization presets take their names from here.
/// </summary>
public static class LlamaFileTypes
{
    /// <summary>llama.cpp sets this bit when it guessed the file type from the tensors (LLAMA_FTYPE_GUESSED).</summary>
    public const int GuessedFlag = 1024;

    // llama_ftype_name in src/llama-model-loader.cpp (2026) gives the third column.
    static readonly LlamaFileTypeInfo[] Table =
    [
        new(LlamaFileType.AllF32, "F32", "all F32"),
        new(LlamaFileType.MostlyF16, "F16", "F16"),
        new(LlamaFileType.MostlyQ4_0, "Q4_0", "Q4_0"),
        new(LlamaFileType.MostlyQ4_1, "Q4_1", "Q4_1"),
        new(LlamaFileType.MostlyQ8_0, "Q8_0", "Q8_0"),
        new(LlamaFileType.MostlyQ5_0, "Q5_0", "Q5_0"),
        new(LlamaFileType.MostlyQ5_1, "Q5_1", "Q5_1"),
        new(LlamaFileType.MostlyQ2_K, "Q2_K", "Q2_K - Medium"),
        new(LlamaFileType.MostlyQ3_K_S, "Q3_K_S", "Q3_K - Small"),
        new(LlamaFileType.MostlyQ3_K_M, "Q3_K_M", "Q3_K - Medium"),
        new(LlamaFileType.MostlyQ3_K_L, "Q3_K_L", "Q3_K - Large"),
        new(LlamaFileType.MostlyQ4_K_S, "Q4_K_S", "Q4_K - Small"),
        new(LlamaFileType.MostlyQ4_K_M, "Q4_K_M", "Q4_K - Medium"),
        new(LlamaFileType.MostlyQ5_K_S, "Q5_K_S", "Q5_K - Small"),
        new(LlamaFileType.MostlyQ5_K_M, "Q5_K_M", "Q5_K - Medium"),
        new(LlamaFileType.MostlyQ6_K, "Q6_K", "Q6_K"),
        new(LlamaFileType.MostlyIQ2_XXS, "IQ2_XXS", "IQ2_XXS - 2.0625 bpw"),
        new(LlamaFileType.MostlyIQ2_XS, "IQ2_XS", "IQ2_XS - 2.3125 bpw"),
        new(LlamaFileType.MostlyQ2_K_S, "Q2_K_S", "Q2_K - Small"),
        new(LlamaFileType.MostlyIQ3_XS, "IQ3_XS", "IQ3_XS - 3.3 bpw"),
        new(LlamaFileType.MostlyIQ3_XXS, "IQ3_XXS", "IQ3_XXS - 3.0625 bpw"),
        new(LlamaFileType.MostlyIQ1_S, "IQ1_S", "IQ1_S - 1.5625 bpw"),
        new(LlamaFileType.MostlyIQ4_NL, "IQ4_NL", "IQ4_NL - 4.5 bpw"),
        new(LlamaFileType.MostlyIQ3_S, "IQ3_S", "IQ3_S - 3.4375 bpw"),
        new(LlamaFileType.MostlyIQ3_M, "IQ3_M", "IQ3_S mix - 3.66 bpw"),
        new(LlamaFileType.MostlyIQ2_S, "IQ2_S", "IQ2_S - 2.5 bpw"),
        new(LlamaFileType.MostlyIQ2_M, "IQ2_M", "IQ2_M - 2.7 bpw"),
        new(LlamaFileType.MostlyIQ4_XS, "IQ4_XS", "IQ4_XS - 4.25 bpw"),
        new(LlamaFileType.MostlyIQ1_M, "IQ1_M", "IQ1_M - 1.75 bpw"),
        new(LlamaFileType.MostlyBF16, "BF16", "BF16"),
        new(LlamaFileType.MostlyTQ1_0, "TQ1_0", "TQ1_0 - 1.69 bpw ternary"),
        new(LlamaFileType.MostlyTQ2_0, "TQ2_0", "TQ2_0 - 2.06 bpw ternary"),
        new(LlamaFileType.MostlyMXFP4_MoE, "MXFP4_MOE", "MXFP4 MoE"),
        new(LlamaFileType.MostlyNVFP4, "NVFP4", "NVFP4"),
        new(LlamaFileType.MostlyQ1_0, "Q1_0", "Q1_0"),
        new(LlamaFileType.MostlyQ2_0, "Q2_0", "Q2_0"),
    ];

    static readonly FrozenDictionary<int, LlamaFileTypeInfo> ByNumber = Table.ToFrozenDictionary(row => row.Number);

    // Old files still carry these; naming them beats "unknown" when someone inspects a 2023 download.
    static readonly FrozenDictionary<int, string> RemovedNames = new Dictionary<int, string>
    {
        [4] = "Q4_1_SOME_F16",
        [5] = "Q4_2",
        [6] = "Q4_3",
        [33] = "Q4_0_4_4",
        [34] = "Q4_0_4_8",
        [35] = "Q4_0_8_8",
    }.ToFrozenDictionary();

    /// <summary>Every current file type, in llama.cpp's number order.</summary>
    public static IReadOnlyList<LlamaFileTypeInfo> All => Table;

    /// <summary>The row of a file type; every value of <see cref="LlamaFileType"/> has one.</summary>
    public static LlamaFileTypeInfo Of(LlamaFileType fileType) =>
        ByNumber.TryGetValue((int)fileType, out var row)
            ? row
            : throw new ArgumentOutOfRangeException(nameof(fileType), fileType, "not a llama.cpp file type");

    /// <summary>The preset name of a current file type, e.g. 15 → <c>Q4_K_M</c>; false for unknown or removed values.</summary>
    public static bool TryGetName(long value, out string name)
    {
        if (value is >= 0 and <= int.MaxValue && ByNumber.TryGetValue((int)value, out var found))
        {
            name = found.Name;
            return true;
        }
        name = "";
        return false;
    }

    /// <summary>
    /// The preset name of a stored value whether or not llama.cpp guessed it (<c>Q4_K_M</c> for 15 and for
    /// 15 | <see cref="GuessedFlag"/>); null when there is no value or it is unknown. Status lines and Ollama's
    /// <c>file_type</c> show this.
    /// </summary>
    public static string? NameIgnoringGuess(long? value) =>
        value is { } v && TryGetName(v & ~GuessedFlag, out var name) ? name : null;

    /// <summary>
    /// What llama.cpp prints for a stored value when it loads a model (<c>llama_ftype_name</c>, the
    /// <c>file type = Q4_K - Medium</c> line): <c>(guessed) </c> before a guessed one, <c>unknown, may not work</c>
    /// for a value it does not know.
    /// </summary>
    public static string LlamaCppName(long value)
    {
        var guessed = value is >= 0 and <= int.MaxValue && (value & GuessedFlag) != 0;
        var plain = guessed ? value & ~GuessedFlag : value;
        var name = plain is >= 0 and <= int.MaxValue && ByNumber.TryGetValue((int)plain, out var row) ? row.LlamaCppName : "unknown, may not work";
        return guessed ? "(guessed) " + name : name;
    }

    /// <summary>
    /// A human description of any stored value: <c>Q4_K_M</c>, <c>Q4_K_M (guessed)</c>,
    /// <c>Q4_2 (removed from llama.cpp)</c> or <c>unknown (99)</c>.
    /// </summary>
    public static string Describe(long value)
    {
        if (TryGetName(value, out var name))
        {
            return name;
        }
        if (value is > 0 and <= int.MaxValue && (value & GuessedFlag) != 0 && TryGetName(value & ~GuessedFlag, out name))
        {
            return $"{name} (guessed)";
        }
        if (value is >= 0 and <= int.MaxValue && RemovedNames.TryGetValue((int)value, out name!))
        {
            return $"{name} (removed from llama.cpp)";
        }
        return $"unknown ({value})";
    }
}
