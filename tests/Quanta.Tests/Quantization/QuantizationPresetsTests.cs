using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;

namespace Quanta.Tests.Quantization;

public class QuantizationPresetsTests
{
    static readonly string[] ExpectedNames =
    [
        "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q2_K_S", "Q3_K_S", "Q3_K_M", "Q3_K_L",
        "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M",
        "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4_MOE", "NVFP4", "Q1_0",
        "Q2_0", "COPY",
    ];

    [Fact]
    public void Every_llama_cpp_preset_is_there_once()
    {
        Assert.Equal(ExpectedNames.Order(), QuantizationPresets.All.Select(p => p.Name).Order());
    }

    // include/llama.h (2026): enum llama_ftype, and llama_ftype_get_default_type.
    [Theory]
    [InlineData("F32", 0, GgmlType.F32)]
    [InlineData("F16", 1, GgmlType.F16)]
    [InlineData("Q4_0", 2, GgmlType.Q4_0)]
    [InlineData("Q4_1", 3, GgmlType.Q4_1)]
    [InlineData("Q8_0", 7, GgmlType.Q8_0)]
    [InlineData("Q5_0", 8, GgmlType.Q5_0)]
    [InlineData("Q5_1", 9, GgmlType.Q5_1)]
    [InlineData("Q2_K", 10, GgmlType.Q2_K)]
    [InlineData("Q3_K_S", 11, GgmlType.Q3_K)]
    [InlineData("Q3_K_M", 12, GgmlType.Q3_K)]
    [InlineData("Q3_K_L", 13, GgmlType.Q3_K)]
    [InlineData("Q4_K_S", 14, GgmlType.Q4_K)]
    [InlineData("Q4_K_M", 15, GgmlType.Q4_K)]
    [InlineData("Q5_K_S", 16, GgmlType.Q5_K)]
    [InlineData("Q5_K_M", 17, GgmlType.Q5_K)]
    [InlineData("Q6_K", 18, GgmlType.Q6_K)]
    [InlineData("IQ2_XXS", 19, GgmlType.IQ2_XXS)]
    [InlineData("IQ2_XS", 20, GgmlType.IQ2_XS)]
    [InlineData("Q2_K_S", 21, GgmlType.Q2_K)]
    [InlineData("IQ3_XS", 22, GgmlType.IQ3_S)]
    [InlineData("IQ3_XXS", 23, GgmlType.IQ3_XXS)]
    [InlineData("IQ1_S", 24, GgmlType.IQ1_S)]
    [InlineData("IQ4_NL", 25, GgmlType.IQ4_NL)]
    [InlineData("IQ3_S", 26, GgmlType.IQ3_S)]
    [InlineData("IQ3_M", 27, GgmlType.IQ3_S)]
    [InlineData("IQ2_S", 28, GgmlType.IQ2_XS)]
    [InlineData("IQ2_M", 29, GgmlType.IQ2_S)]
    [InlineData("IQ4_XS", 30, GgmlType.IQ4_XS)]
    [InlineData("IQ1_M", 31, GgmlType.IQ1_M)]
    [InlineData("BF16", 32, GgmlType.BF16)]
    [InlineData("TQ1_0", 36, GgmlType.TQ1_0)]
    [InlineData("TQ2_0", 37, GgmlType.TQ2_0)]
    [InlineData("MXFP4_MOE", 38, GgmlType.MXFP4)]
    [InlineData("NVFP4", 39, GgmlType.NVFP4)]
    [InlineData("Q1_0", 40, GgmlType.Q1_0)]
    [InlineData("Q2_0", 41, GgmlType.Q2_0)]
    public void Names_numbers_and_default_types_match_llama_cpp(string name, int number, GgmlType defaultType)
    {
        var byName = QuantizationPresets.Parse(name);
        Assert.Equal(name, byName.Name);
        Assert.Equal(number, byName.FileTypeNumber);
        Assert.Equal(defaultType, byName.DefaultType);
        Assert.Same(byName, QuantizationPresets.Parse(number.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Same(byName, QuantizationPresets.Of((LlamaFileType)number));
        Assert.False(byName.IsCopy);
    }

    [Fact]
    public void Every_file_type_has_one_preset_of_the_same_name()
    {
        var presets = QuantizationPresets.All.Where(p => !p.IsCopy).ToList();
        Assert.Equal(LlamaFileTypes.All.Select(t => t.FileType), presets.Select(p => p.FileType));
        Assert.All(presets, p => Assert.Equal(LlamaFileTypes.Of(p.FileType).Name, p.Name));
    }

    [Theory]
    [InlineData("q4_k_m", "Q4_K_M")]
    [InlineData("Q4_k_M", "Q4_K_M")]
    [InlineData("iq3_xxs", "IQ3_XXS")]
    [InlineData("mxfp4_moe", "MXFP4_MOE")]
    [InlineData("bf16", "BF16")]
    [InlineData("copy", "COPY")]
    [InlineData(" Q8_0 ", "Q8_0")]
    public void Names_are_case_insensitive(string text, string expected)
    {
        Assert.Equal(expected, QuantizationPresets.Parse(text).Name);
    }

    [Theory]
    [InlineData("Q3_K", "Q3_K_M")]
    [InlineData("Q4_K", "Q4_K_M")]
    [InlineData("Q5_K", "Q5_K_M")]
    [InlineData("q4_k", "Q4_K_M")]
    public void Aliases_name_the_medium_mixes(string alias, string expected)
    {
        var preset = QuantizationPresets.Parse(alias);
        Assert.Equal(expected, preset.Name);
        Assert.Contains(alias.ToUpperInvariant(), preset.Aliases);
    }

    [Fact]
    public void Zero_is_F32_not_COPY()
    {
        // COPY shares ftype 0 with F32 in QUANT_OPTIONS; llama-quantize lists it after F32 so 0 means F32.
        Assert.Equal("F32", QuantizationPresets.Parse("0").Name);
        var copy = QuantizationPresets.Parse("COPY");
        Assert.True(copy.IsCopy);
        Assert.Equal(LlamaFileType.AllF32, copy.FileType);
    }

    [Theory]
    [InlineData("Q9_K")]
    [InlineData("Q4_K_XL")]
    [InlineData("4")]
    [InlineData("33")]
    [InlineData("1024")]
    [InlineData("-1")]
    [InlineData("q4_k_m.gguf")]
    [InlineData("")]
    [InlineData("   ")]
    public void Unknown_names_fail_with_the_list_of_valid_ones(string text)
    {
        Assert.False(QuantizationPresets.TryParse(text, out _));
        var error = Assert.Throws<ArgumentException>(() => QuantizationPresets.Parse(text));
        Assert.Contains($"unknown quantization type '{text}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Q4_K_M (15)", error.Message, StringComparison.Ordinal);
        Assert.Contains("IQ2_XXS (19)", error.Message, StringComparison.Ordinal);
        Assert.Contains("COPY", error.Message, StringComparison.Ordinal);
        Assert.Contains("Q4_K = Q4_K_M", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_is_not_a_preset()
    {
        Assert.False(QuantizationPresets.TryParse(null, out _));
    }

    [Fact]
    public void Presets_that_need_an_importance_matrix_are_flagged()
    {
        // The 2026 source checks per tensor (tensor_requires_imatrix); these are the presets whose own types
        // hit that check: the 1-2 bit IQ mixes, IQ3_XXS and IQ3_XS (IQ3_XXS tensors), and Q2_K_S.
        string[] expected = ["IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M", "IQ3_XXS", "IQ3_XS", "Q2_K_S"];
        Assert.Equal(expected.Order(), QuantizationPresets.All.Where(p => p.RequiresImportanceMatrix).Select(p => p.Name).Order());
    }

    [Fact]
    public void The_flag_agrees_with_what_the_plan_finds_for_a_real_model()
    {
        var fixture = MixFixture.Load("llama32");
        foreach (var preset in QuantizationPresets.All.Where(p => !p.IsCopy))
        {
            var plan = QuantizationPlan.Create(fixture.Tensors, fixture.Hyperparameters(), preset);
            Assert.True(preset.RequiresImportanceMatrix == plan.RequiresImportanceMatrix, preset.Name);
        }
    }

    [Fact]
    public void Descriptions_come_from_QUANT_OPTIONS()
    {
        Assert.Equal(" 4.58G, +0.1754 ppl @ Llama-3-8B", QuantizationPresets.Parse("Q4_K_M").Description);
        Assert.Equal(" 2.06 bpw quantization", QuantizationPresets.Parse("IQ2_XXS").Description);
        Assert.Equal("only copy tensors, no quantizing", QuantizationPresets.Parse("COPY").Description);
        Assert.All(QuantizationPresets.All, p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));
    }

    [Fact]
    public void Only_the_16_and_32_bit_presets_and_COPY_skip_the_mix_rules()
    {
        Assert.Equal(["F32", "F16", "BF16", "COPY"], QuantizationPresets.All.Where(p => !p.QuantizesByDefault).Select(p => p.Name).ToArray());
    }
}
