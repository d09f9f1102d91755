using System.Text.Json;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
using Quanta.Quantization;
using static Quanta.Tests.Quantization.SyntheticModel;

namespace Quanta.Tests.Quantization;

public class QuantizationPlanTests
{
    static string ModelPath(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", file);

    [Theory]
    [InlineData("Q4_0")]
    [InlineData("Q8_0")]
    [InlineData("Q3_K_M")]
    [InlineData("Q4_K_M")]
    [InlineData("Q5_K_S")]
    [InlineData("Q6_K")]
    [InlineData("IQ4_XS")]
    public void A_GGUF_file_plans_to_what_llama_quantize_wrote(string preset)
    {
        using var file = GgufFile.Open(ModelPath("tiny-llama-f16.gguf"));
        var plan = QuantizationPlan.Create(file, QuantizationPresets.Parse(preset));

        using var json = JsonDocument.Parse(File.ReadAllBytes(ModelPath($"tiny-llama.{preset}.expected.json")));
        Assert.Equal(plan.Preset.FileTypeNumber, json.RootElement.GetProperty("file_type").GetInt32());
        var expected = json.RootElement.GetProperty("tensors").EnumerateArray()
            .Select(t => (t.GetProperty("name").GetString()!, t.GetProperty("type").GetString()!.ToUpperInvariant()))
            .ToArray();
        var actual = plan.Entries.Select(e => (e.Name, GgmlTypeInfo.Of(e.TargetType).Name.ToUpperInvariant())).ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Sizes_and_bits_per_weight_add_up()
    {
        GgufTensorInfo[] tensors =
        [
            Matrix("token_embd.weight", 256, 512),
            new("output_norm.weight", [256], GgmlType.F32),
            Matrix("output.weight", 256, 512),
            Matrix("blk.0.attn_q.weight", 256, 256),
        ];
        var plan = Plan(tensors, "Q6_K");
        // token_embd Q6_K (512 rows × 210 B), output_norm copied (1 KiB), output Q6_K (the output rule
        // picks Q6_K unless the preset is Q8_0), attn_q Q6_K (256 × 210 B).
        long expected = (512 * 210) + 1024 + (512 * 210) + (256 * 210);
        Assert.Equal(expected, plan.TargetBytes);
        Assert.Equal((2 * 256 * 512 * 2) + 1024 + (256 * 256 * 2), plan.SourceBytes);
        var elements = (2 * 256 * 512) + 256 + (256 * 256);
        Assert.Equal(elements, plan.ElementCount);
        Assert.Equal(expected * 8.0 / elements, plan.BitsPerWeight, 12);
        Assert.Equal(16.0 * ((2 * 256 * 512) + (256 * 256)) / elements + (32.0 * 256 / elements), plan.SourceBitsPerWeight, 12);
        Assert.Equal(GgmlType.Q6_K, plan.TypeOf("output.weight"));
        Assert.True(plan.Find("output_norm.weight")!.IsCopied);
        // In a Q8_0 file the output keeps Q8_0 rather than drop to Q6_K.
        Assert.Equal(GgmlType.Q8_0, Plan(tensors, "Q8_0").TypeOf("output.weight"));
        Assert.Equal((512 * 34 * 8 * 2) + 1024 + (256 * 34 * 8), Plan(tensors, "Q8_0").TargetBytes);
    }

    [Fact]
    public void The_table_lists_every_tensor_and_the_totals()
    {
        var fixture = MixFixture.Load("odd6");
        var plan = QuantizationPlan.Create(fixture.Tensors, fixture.Hyperparameters(), QuantizationPresets.Parse("Q4_K_M"));
        var table = plan.ToTable();
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("    #  tensor", lines[0], StringComparison.Ordinal);
        Assert.Contains("output.weight", lines[1], StringComparison.Ordinal);
        Assert.Contains("q8_0", lines[1], StringComparison.Ordinal);
        Assert.Contains("fell back", table, StringComparison.Ordinal);
        Assert.Contains("preset Q4_K_M (15), 57 tensors", table, StringComparison.Ordinal);
        Assert.Contains("quant size =", table, StringComparison.Ordinal);
        Assert.Contains($"warning: {plan.FallbackCount} of 57 tensor(s) required fallback quantization", table, StringComparison.Ordinal);
        Assert.Equal(table, plan.ToString());
        Assert.Equal(57 + 1 + 4, lines.Length);
    }

    [Fact]
    public void Duplicate_names_are_an_error()
    {
        GgufTensorInfo[] tensors = [Matrix("blk.0.attn_q.weight", 256, 256), Matrix("blk.0.attn_q.weight", 256, 256)];
        var error = Assert.Throws<QuantizationException>(() => Plan(tensors, "Q4_0"));
        Assert.Contains("blk.0.attn_q.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_model_has_an_empty_plan()
    {
        var plan = QuantizationPlan.Create([], ModelHyperparameters.Uniform("llama", 0, 0, 0), QuantizationPresets.Parse("Q4_K_M"));
        Assert.Empty(plan.Entries);
        Assert.Equal(0, plan.BitsPerWeight);
        Assert.Contains("0 tensors", plan.ToTable(), StringComparison.Ordinal);
    }

    [Fact]
    public void Hyperparameters_come_from_the_metadata()
    {
        var metadata = new GgufMetadata
        {
            { GgufKeys.Architecture, GgufValue.String("llama") },
            { "llama.block_count", GgufValue.UInt32(3) },
            { "llama.attention.head_count", GgufValue.UInt32(8) },
            { "llama.attention.head_count_kv", GgufValue.Array(GgufArray.Of([2, 4, 8])) },
            { "llama.expert_count", GgufValue.UInt32(8) },
        };
        var model = ModelHyperparameters.FromMetadata(metadata);
        Assert.Equal("llama", model.Architecture);
        Assert.Equal(3, model.LayerCount);
        Assert.Equal(8, model.HeadCount(2));
        Assert.Equal(4, model.KvHeadCount(1));
        Assert.Equal(4, model.GroupedQueryFactor); // layer 0 decides, as in llama.cpp
        Assert.Equal(8, model.ExpertCount);
        Assert.False(model.Is70B);
        Assert.False(model.IsFalcon);
    }

    [Fact]
    public void Missing_key_value_heads_default_to_the_query_heads()
    {
        var metadata = new GgufMetadata
        {
            { GgufKeys.Architecture, GgufValue.String("falcon") },
            { "falcon.block_count", GgufValue.UInt32(2) },
            { "falcon.attention.head_count", GgufValue.Array(GgufArray.Of(new uint[] { 16, 16 })) },
        };
        var model = ModelHyperparameters.FromMetadata(metadata);
        Assert.Equal(16, model.KvHeadCount(1));
        Assert.Equal(1, model.GroupedQueryFactor);
        Assert.Equal(0, model.ExpertCount);
        Assert.True(model.IsFalcon);
    }

    [Fact]
    public void No_key_value_heads_means_no_grouped_query_factor()
    {
        var model = ModelHyperparameters.Uniform("mamba", 2, 0, 0);
        Assert.Equal(0, model.GroupedQueryFactor);
    }

    [Fact]
    public void Bad_hyperparameters_fail_clearly()
    {
        var noBlocks = new GgufMetadata { { GgufKeys.Architecture, GgufValue.String("llama") } };
        Assert.Contains("llama.block_count", Assert.Throws<GgufFormatException>(() => ModelHyperparameters.FromMetadata(noBlocks)).Message, StringComparison.Ordinal);

        var noArchitecture = new GgufMetadata { { "llama.block_count", GgufValue.UInt32(2) } };
        Assert.Throws<GgufFormatException>(() => ModelHyperparameters.FromMetadata(noArchitecture));

        var wrongLength = new GgufMetadata
        {
            { GgufKeys.Architecture, GgufValue.String("llama") },
            { "llama.block_count", GgufValue.UInt32(3) },
            { "llama.attention.head_count", GgufValue.Array(GgufArray.Of([8, 8])) },
        };
        Assert.Contains("wrong array length", Assert.Throws<GgufFormatException>(() => ModelHyperparameters.FromMetadata(wrongLength)).Message, StringComparison.Ordinal);

        var notANumber = new GgufMetadata
        {
            { GgufKeys.Architecture, GgufValue.String("llama") },
            { "llama.block_count", GgufValue.String("32") },
        };
        Assert.Throws<GgufFormatException>(() => ModelHyperparameters.FromMetadata(notANumber));
    }
}
