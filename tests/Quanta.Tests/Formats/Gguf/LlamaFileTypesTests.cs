using Quanta.Formats.Gguf;
using Xunit;

namespace Quanta.Tests.Formats.Gguf;

public sealed class LlamaFileTypesTests
{
    // Typed from llama.cpp (2026): the number and constant of enum llama_ftype (include/llama.h), the name
    // llama-quantize's QUANT_OPTIONS gives it (tools/quantize/quantize.cpp), and llama_ftype_name's text
    // (src/llama-model-loader.cpp).
    public static TheoryData<int, string, string, string> LlamaCpp => new()
    {
        { 0, "LLAMA_FTYPE_ALL_F32", "F32", "all F32" },
        { 1, "LLAMA_FTYPE_MOSTLY_F16", "F16", "F16" },
        { 2, "LLAMA_FTYPE_MOSTLY_Q4_0", "Q4_0", "Q4_0" },
        { 3, "LLAMA_FTYPE_MOSTLY_Q4_1", "Q4_1", "Q4_1" },
        { 7, "LLAMA_FTYPE_MOSTLY_Q8_0", "Q8_0", "Q8_0" },
        { 8, "LLAMA_FTYPE_MOSTLY_Q5_0", "Q5_0", "Q5_0" },
        { 9, "LLAMA_FTYPE_MOSTLY_Q5_1", "Q5_1", "Q5_1" },
        { 10, "LLAMA_FTYPE_MOSTLY_Q2_K", "Q2_K", "Q2_K - Medium" },
        { 11, "LLAMA_FTYPE_MOSTLY_Q3_K_S", "Q3_K_S", "Q3_K - Small" },
        { 12, "LLAMA_FTYPE_MOSTLY_Q3_K_M", "Q3_K_M", "Q3_K - Medium" },
        { 13, "LLAMA_FTYPE_MOSTLY_Q3_K_L", "Q3_K_L", "Q3_K - Large" },
        { 14, "LLAMA_FTYPE_MOSTLY_Q4_K_S", "Q4_K_S", "Q4_K - Small" },
        { 15, "LLAMA_FTYPE_MOSTLY_Q4_K_M", "Q4_K_M", "Q4_K - Medium" },
        { 16, "LLAMA_FTYPE_MOSTLY_Q5_K_S", "Q5_K_S", "Q5_K - Small" },
        { 17, "LLAMA_FTYPE_MOSTLY_Q5_K_M", "Q5_K_M", "Q5_K - Medium" },
        { 18, "LLAMA_FTYPE_MOSTLY_Q6_K", "Q6_K", "Q6_K" },
        { 19, "LLAMA_FTYPE_MOSTLY_IQ2_XXS", "IQ2_XXS", "IQ2_XXS - 2.0625 bpw" },
        { 20, "LLAMA_FTYPE_MOSTLY_IQ2_XS", "IQ2_XS", "IQ2_XS - 2.3125 bpw" },
        { 21, "LLAMA_FTYPE_MOSTLY_Q2_K_S", "Q2_K_S", "Q2_K - Small" },
        { 22, "LLAMA_FTYPE_MOSTLY_IQ3_XS", "IQ3_XS", "IQ3_XS - 3.3 bpw" },
        { 23, "LLAMA_FTYPE_MOSTLY_IQ3_XXS", "IQ3_XXS", "IQ3_XXS - 3.0625 bpw" },
        { 24, "LLAMA_FTYPE_MOSTLY_IQ1_S", "IQ1_S", "IQ1_S - 1.5625 bpw" },
        { 25, "LLAMA_FTYPE_MOSTLY_IQ4_NL", "IQ4_NL", "IQ4_NL - 4.5 bpw" },
        { 26, "LLAMA_FTYPE_MOSTLY_IQ3_S", "IQ3_S", "IQ3_S - 3.4375 bpw" },
        { 27, "LLAMA_FTYPE_MOSTLY_IQ3_M", "IQ3_M", "IQ3_S mix - 3.66 bpw" },
        { 28, "LLAMA_FTYPE_MOSTLY_IQ2_S", "IQ2_S", "IQ2_S - 2.5 bpw" },
        { 29, "LLAMA_FTYPE_MOSTLY_IQ2_M", "IQ2_M", "IQ2_M - 2.7 bpw" },
        { 30, "LLAMA_FTYPE_MOSTLY_IQ4_XS", "IQ4_XS", "IQ4_XS - 4.25 bpw" },
        { 31, "LLAMA_FTYPE_MOSTLY_IQ1_M", "IQ1_M", "IQ1_M - 1.75 bpw" },
        { 32, "LLAMA_FTYPE_MOSTLY_BF16", "BF16", "BF16" },
        { 36, "LLAMA_FTYPE_MOSTLY_TQ1_0", "TQ1_0", "TQ1_0 - 1.69 bpw ternary" },
        { 37, "LLAMA_FTYPE_MOSTLY_TQ2_0", "TQ2_0", "TQ2_0 - 2.06 bpw ternary" },
        { 38, "LLAMA_FTYPE_MOSTLY_MXFP4_MOE", "MXFP4_MOE", "MXFP4 MoE" },
        { 39, "LLAMA_FTYPE_MOSTLY_NVFP4", "NVFP4", "NVFP4" },
        { 40, "LLAMA_FTYPE_MOSTLY_Q1_0", "Q1_0", "Q1_0" },
        { 41, "LLAMA_FTYPE_MOSTLY_Q2_0", "Q2_0", "Q2_0" },
    };

    [Theory]
    [MemberData(nameof(LlamaCpp))]
    public void Each_file_type_has_llama_cpp_number_name_and_description(int number, string constant, string name, string llamaCppName)
    {
        var fileType = (LlamaFileType)number;
        Assert.True(Enum.IsDefined(fileType), constant);
        // LLAMA_FTYPE_MOSTLY_Q4_K_M is MostlyQ4_K_M: the same letters once underscores and case are set aside.
        Assert.Equal(constant["LLAMA_FTYPE_".Length..].Replace("_", "", StringComparison.Ordinal),
            fileType.ToString().Replace("_", "", StringComparison.Ordinal).ToUpperInvariant());
        var row = LlamaFileTypes.Of(fileType);
        Assert.Equal(number, row.Number);
        Assert.Equal(name, row.Name);
        Assert.Equal(llamaCppName, row.LlamaCppName);
        Assert.Equal(llamaCppName, LlamaFileTypes.LlamaCppName(number));
        Assert.Equal("(guessed) " + llamaCppName, LlamaFileTypes.LlamaCppName(number | LlamaFileTypes.GuessedFlag));
        Assert.True(LlamaFileTypes.TryGetName(number, out var stored));
        Assert.Equal(name, stored);
        Assert.Equal(name, LlamaFileTypes.NameIgnoringGuess(number | LlamaFileTypes.GuessedFlag));
    }

    [Fact]
    public void The_table_the_enum_and_llama_cpp_list_the_same_file_types()
    {
        var expected = LlamaCpp.Select(row => (int)row[0]).Order().ToArray();
        Assert.Equal(expected, Enum.GetValues<LlamaFileType>().Select(t => (int)t).Order().ToArray());
        Assert.Equal(expected, LlamaFileTypes.All.Select(t => t.Number).ToArray());
    }

    [Theory]
    [InlineData(0, "F32")]
    [InlineData(1, "F16")]
    [InlineData(7, "Q8_0")]
    [InlineData(15, "Q4_K_M")]
    [InlineData(18, "Q6_K")]
    [InlineData(30, "IQ4_XS")]
    [InlineData(32, "BF16")]
    [InlineData(38, "MXFP4_MOE")]
    [InlineData(41, "Q2_0")]
    public void TryGetName_KnowsLlamaCppFileTypes(long value, string expected)
    {
        Assert.True(LlamaFileTypes.TryGetName(value, out var name));
        Assert.Equal(expected, name);
    }

    [Theory]
    [InlineData(15 | LlamaFileTypes.GuessedFlag, "Q4_K_M (guessed)")]
    [InlineData(5, "Q4_2 (removed from llama.cpp)")]
    [InlineData(99, "unknown (99)")]
    [InlineData(-1, "unknown (-1)")]
    public void Describe_ExplainsUnusualValues(long value, string expected)
    {
        Assert.False(LlamaFileTypes.TryGetName(value, out _));
        Assert.Equal(expected, LlamaFileTypes.Describe(value));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(99)]
    [InlineData(-1)]
    public void Values_llama_cpp_does_not_know_have_no_name(long value)
    {
        Assert.Null(LlamaFileTypes.NameIgnoringGuess(value));
        Assert.Equal("unknown, may not work", LlamaFileTypes.LlamaCppName(value));
    }
}
