using System.Collections.Frozen;

namespace Quanta.Formats.Gguf;

/// <summary>
/// Names of the values llama.cpp stores in <c>general.file_type</c> (<c>enum llama_ftype</c>). The value says
/// which preset produced the file, not the type of every tensor, so it is shown as users know the preset:
/// <c>Q4_K_M</c>, as <c>llama-quantize</c> and Ollama spell it.
/// </summary>
public static class LlamaFileTypes
{
    /// <summary>llama.cpp sets this bit when it guessed the file type from the tensors (LLAMA_FTYPE_GUESSED).</summary>
    public const int GuessedFlag = 1024;

    static readonly FrozenDictionary<int, string> Names = new Dictionary<int, string>
    {
        [0] = "F32",
        [1] = "F16",
        [2] = "Q4_0",
        [3] = "Q4_1",
        [7] = "Q8_0",
        [8] = "Q5_0",
        [9] = "Q5_1",
        [10] = "Q2_K",
        [11] = "Q3_K_S",
        [12] = "Q3_K_M",
        [13] = "Q3_K_L",
        [14] = "Q4_K_S",
        [15] = "Q4_K_M",
        [16] = "Q5_K_S",
        [17] = "Q5_K_M",
        [18] = "Q6_K",
        [19] = "IQ2_XXS",
        [20] = "IQ2_XS",
        [21] = "Q2_K_S",
        [22] = "IQ3_XS",
        [23] = "IQ3_XXS",
        [24] = "IQ1_S",
        [25] = "IQ4_NL",
        [26] = "IQ3_S",
        [27] = "IQ3_M",
        [28] = "IQ2_S",
        [29] = "IQ2_M",
        [30] = "IQ4_XS",
        [31] = "IQ1_M",
        [32] = "BF16",
        [36] = "TQ1_0",
        [37] = "TQ2_0",
        [38] = "MXFP4_MOE",
        [39] = "NVFP4",
        [40] = "Q1_0",
        [41] = "Q2_0",
    }.ToFrozenDictionary();

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

    /// <summary>The preset name of a current file type, e.g. 15 → <c>Q4_K_M</c>; false for unknown or removed values.</summary>
    public static bool TryGetName(long value, out string name)
    {
        if (value is >= 0 and <= int.MaxValue && Names.TryGetValue((int)value, out var found))
        {
            name = found;
            return true;
        }
        name = "";
        return false;
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
