using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
using Quanta.Quantization;
using static Quanta.Formats.GgmlType;

namespace Quanta.Tests.Quantization;

public class MultimodalRulesTests
{
    static ModelHyperparameters ClipModel() => ModelHyperparameters.FromMetadata(MultimodalModelFiles.ClipMetadata());

    static ModelHyperparameters Gemma3Model() => ModelHyperparameters.FromMetadata(MultimodalModelFiles.Gemma3Metadata());

    static QuantizationPlan ClipPlan(string preset, QuantizationOptions? options = null) =>
        QuantizationPlan.Create(MultimodalModelFiles.ClipTensors(), ClipModel(), QuantizationPresets.Parse(preset), options);

    static QuantizationPlan Gemma3Plan(string preset, QuantizationOptions? options = null, bool withVision = true) =>
        QuantizationPlan.Create(MultimodalModelFiles.Gemma3Tensors(withVision), Gemma3Model(), QuantizationPresets.Parse(preset), options);

    [Fact]
    public void A_clip_file_has_no_hyperparameters_as_llama_cpp_loads_it()
    {
        var model = ClipModel();
        Assert.Equal("clip", model.Architecture);
        Assert.Equal(0, model.LayerCount);
        Assert.Equal(0, model.GroupedQueryFactor);
        Assert.Equal(0, model.ExpertCount);
        Assert.False(model.Is70B);
    }

    [Theory]
    // The mix sees 0 blocks: use_more_bits(i, 0) is true for every i, so Q4_K_M / Q5_K_M give every ffn_down
    // Q6_K; Q3_K_M's "i < n/16" never holds, so Q4_K; Q2_K's ffn_down rule is unconditional.
    [InlineData("Q4_K_M", Q6_K)]
    [InlineData("Q5_K_M", Q6_K)]
    [InlineData("Q3_K_M", Q4_K)]
    [InlineData("Q2_K", Q3_K)]
    [InlineData("Q4_K_S", Q4_K)]
    [InlineData("Q8_0", Q8_0)]
    public void Clip_ffn_down_follows_llama_quantize_with_zero_blocks(string preset, GgmlType expected)
    {
        var plan = ClipPlan(preset);
        Assert.Equal(expected, plan.TypeOf("v.blk.0.ffn_down.weight"));
        Assert.Equal(expected, plan.TypeOf("v.blk.1.ffn_down.weight"));
    }

    [Fact]
    public void Clip_attn_v_counts_the_vision_blocks()
    {
        var plan = ClipPlan("Q4_K_M");
        Assert.Equal(Q4_K, plan.TypeOf("v.blk.0.attn_v.weight"));
        Assert.Equal(Q6_K, plan.TypeOf("v.blk.1.attn_v.weight"));
        Assert.Equal(TensorTypeReason.PresetRule, plan.Find("v.blk.1.attn_v.weight")!.Reason);
    }

    [Fact]
    public void A_pure_clip_plan_is_the_old_clip_quantizer_with_the_new_skip_list()
    {
        // llama-llava-clip-quantize-cli IN OUT 8 (ggml q8_0) is closest to `quantize --pure IN OUT Q8_0`; the differences:
        // position embeddings stay exact and rows that do not fit fall back.
        var plan = ClipPlan("Q4_0", new QuantizationOptions { Pure = true });
        Assert.All(plan.Entries.Where(e => e.Name.EndsWith("attn_q.weight", StringComparison.Ordinal) || e.Name == "mm.0.weight"),
            e => Assert.Equal(Q4_0, e.TargetType));
        // Q4_0 is below Q2_K, so embedding tables are not raised to Q8_0.
        Assert.Equal(Q4_0, plan.TypeOf("v.tile_position_embd.weight"));
        Assert.Equal(F16, plan.TypeOf("v.blk.0.ffn_up.weight"));
        Assert.Equal(F16, plan.TypeOf("v.position_embd.weight"));
        Assert.Equal(2, plan.FallbackCount);
    }

    [Fact]
    public void A_16_bit_preset_converts_only_eligible_clip_weights()
    {
        var plan = ClipPlan("F32");
        Assert.Equal(F32, plan.TypeOf("v.blk.0.attn_q.weight"));
        Assert.Equal(F32, plan.TypeOf("mm.model.fc.weight"));
        Assert.Equal(F16, plan.TypeOf("v.patch_embd.weight"));
        Assert.Equal(TensorTypeReason.UnquantizedPreset, plan.Find("mm.0.weight")!.Reason);
    }

    [Fact]
    public void Copy_copies_image_tensors_too()
    {
        var plan = Gemma3Plan("COPY", new QuantizationOptions { VisionType = Q8_0 });
        Assert.All(plan.Entries, e => Assert.True(e.IsCopied));
    }

    [Fact]
    public void Image_tensors_of_a_single_file_model_do_not_shift_the_text_mix()
    {
        foreach (var preset in new[] { "Q4_K_M", "Q3_K_M", "Q4_K_S", "Q5_K_M", "Q2_K" })
        {
            var text = Gemma3Plan(preset, withVision: false);
            var full = Gemma3Plan(preset);
            foreach (var entry in text.Entries)
            {
                Assert.Equal(entry.Decision, full.Find(entry.Name)!.Decision);
            }
            Assert.All(full.Entries.Where(e => e.Name.StartsWith("v.", StringComparison.Ordinal)),
                e => Assert.Equal(TensorTypeReason.VisionTensorKept, e.Reason));
            Assert.All(full.Entries.Where(e => e.Name.StartsWith("mm.", StringComparison.Ordinal)),
                e => Assert.Equal(TensorTypeReason.ProjectorTensorKept, e.Reason));
        }
    }

    [Fact]
    public void Component_types_do_not_shift_the_text_mix_either()
    {
        var text = Gemma3Plan("Q4_K_M", withVision: false);
        var full = Gemma3Plan("Q4_K_M", new QuantizationOptions { VisionType = Q4_K, ProjectorType = Q8_0 });
        foreach (var entry in text.Entries)
        {
            Assert.Equal(entry.Decision, full.Find(entry.Name)!.Decision);
        }
        Assert.Equal(TensorTypeReason.VisionType, full.Find("v.blk.0.attn_v.weight")!.Reason);
        Assert.Equal(Q4_K, full.TypeOf("v.blk.1.attn_v.weight"));
        Assert.Equal(TensorTypeReason.ProjectorType, full.Find("mm.mm_input_projection.weight")!.Reason);
        Assert.Equal(Q8_0, full.TypeOf("mm.mm_input_projection.weight"));
    }

    [Fact]
    public void Kept_image_tensors_are_not_counted_as_needing_an_importance_matrix()
    {
        // IQ2_XXS needs an importance matrix for its quantized tensors, but not for tensors it keeps.
        var plan = Gemma3Plan("IQ2_XXS");
        Assert.All(plan.Entries.Where(e => e.Reason.IsKept()), e => Assert.False(e.RequiresImportanceMatrix));
        var asked = Gemma3Plan("Q4_K_M", new QuantizationOptions { VisionType = IQ2_XXS });
        Assert.True(asked.Find("v.blk.0.attn_q.weight")!.RequiresImportanceMatrix);
    }

    [Theory]
    [InlineData(Q8_0, 304, F16)]
    [InlineData(Q4_0, 288, Q4_0)]
    [InlineData(Q4_0, 300, F16)]
    [InlineData(Q4_K, 288, Q5_0)]
    [InlineData(Q4_K, 304, F16)]
    [InlineData(Q5_K, 288, Q5_1)]
    [InlineData(Q6_K, 288, Q8_0)]
    [InlineData(Q2_K, 288, Q4_0)]
    [InlineData(IQ4_XS, 288, IQ4_NL)]
    [InlineData(BF16, 303, BF16)]
    [InlineData(Q4_K, 512, Q4_K)]
    public void Image_rows_fall_back_and_never_abort(GgmlType target, long row, GgmlType expected) =>
        Assert.Equal(expected, MultimodalTensors.ResolveRow(target, row));

    [Theory]
    [InlineData("v.tile_position_embd.weight", Q4_K, true)]
    [InlineData("v.tile_position_embd.weight", Q2_K, true)]
    [InlineData("v.tile_position_embd.weight", IQ4_XS, true)]
    [InlineData("v.tile_position_embd.weight", Q8_0, false)]
    [InlineData("v.tile_position_embd.weight", Q5_1, false)]
    [InlineData("v.tile_position_embd.weight", F16, false)]
    [InlineData("v.tile_position_embd.weight", BF16, false)]
    [InlineData("v.blk.0.attn_q.weight", Q4_K, false)]
    public void Embedding_tables_go_to_q8_0_for_k_quants_and_later_types(string name, GgmlType type, bool forced) =>
        Assert.Equal(forced, MultimodalTensors.ForcesQ8_0(name, type));

    [Theory]
    [InlineData("v.blk.0.attn_q.weight", MultimodalComponent.VisionTower)]
    [InlineData("v.patch_embd.weight", MultimodalComponent.VisionTower)]
    [InlineData("mm.0.weight", MultimodalComponent.Projector)]
    [InlineData("mm.mm_input_projection.weight", MultimodalComponent.Projector)]
    [InlineData("blk.0.attn_v.weight", MultimodalComponent.None)]
    [InlineData("token_embd.weight", MultimodalComponent.None)]
    [InlineData("vv.weight", MultimodalComponent.None)]
    public void Components_come_from_the_name_prefix(string name, MultimodalComponent component) =>
        Assert.Equal(component, MultimodalTensors.ComponentOf(name));

    [Fact]
    public void Only_2d_rows_longer_than_a_block_are_image_weights()
    {
        Assert.Null(MultimodalTensors.WhyNotQuantized("mm.0.weight", [512, 8], Q4_K));
        Assert.Contains("not longer than one q4_K block", MultimodalTensors.WhyNotQuantized("mm.0.weight", [256, 8], Q4_K), StringComparison.Ordinal);
        Assert.Null(MultimodalTensors.WhyNotQuantized("mm.0.weight", [256, 8], Q8_0));
        Assert.Contains("3-D", MultimodalTensors.WhyNotQuantized("mm.0.weight", [512, 8, 2], Q8_0), StringComparison.Ordinal);
        // Trailing 1s do not count, as in ggml_n_dims.
        Assert.Null(MultimodalTensors.WhyNotQuantized("mm.0.weight", [512, 8, 1, 1], Q8_0));
        Assert.NotNull(MultimodalTensors.WhyNotQuantized("v.position_embedding.weight", [512, 8], Q8_0));
    }
}
