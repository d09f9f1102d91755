using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
using Quanta.Quantization;
using static Quanta.Tests.Quantization.SyntheticModel;

namespace Quanta.Tests.Quantization;

public class TensorTypeRulesTests
{
    [Theory]
    [InlineData("blk.0.attn_norm.weight", new long[] { 256 }, "1-D tensor")]
    [InlineData("blk.0.attn_q.weight", new long[] { 4096, 1, 1 }, "1-D tensor")] // trailing 1s do not count
    [InlineData("blk.0.attn_q.bias", new long[] { 256, 4 }, "not a weight")]
    [InlineData("blk.0.attn_norm.weight", new long[] { 256, 4 }, "normalization weights")]
    [InlineData("blk.0.ffn_gate_inp.weight", new long[] { 4096, 8 }, "MoE router")]
    [InlineData("blk.0.ffn_gate_tid2eid.weight", new long[] { 32, 128 }, "token-to-expert routing table")]
    [InlineData("position_embd.weight", new long[] { 768, 1024 }, "position embeddings")]
    [InlineData("token_types.weight", new long[] { 768, 2 }, "token type embeddings")]
    [InlineData("blk.3.ssm_conv1d.weight", new long[] { 4, 1536 }, "SSM conv1d (small)")]
    [InlineData("blk.0.shortconv.conv.weight", new long[] { 3, 1024 }, "short convolution (small)")]
    [InlineData("blk.0.altup_proj.weight", new long[] { 4, 4 }, "AltUp tensor (tiny)")]
    [InlineData("blk.0.laurel_l.weight", new long[] { 2048, 64 }, "LAuReL tensor (tiny)")]
    [InlineData("per_layer_model_proj.weight", new long[] { 2048, 7680 }, "per-layer model projection (small)")]
    [InlineData("blk.0.indexer.k_proj.weight", new long[] { 2048, 128 }, "indexer projection (tiny)")]
    [InlineData("blk.0.time_mix_first.weight", new long[] { 64, 32 }, "RWKV time-mix weights (small)")]
    [InlineData("blk.0.time_mix_lerp_fused.weight", new long[] { 2048, 5 }, "RWKV time-mix weights (small)")]
    [InlineData("enc.blk.0.attn_rel_b.weight", new long[] { 32, 8 }, "relative position bias")]
    [InlineData("v.patch_embd.weight", new long[] { 14, 14, 3, 1152 }, "multimodal patch embeddings")]
    [InlineData("v.position_embd.weight", new long[] { 1152, 729 }, "multimodal position embeddings")]
    [InlineData("mm.patch_merger.weight", new long[] { 4096, 1024 }, "multimodal patch merger")]
    [InlineData("v.blk.0.attn.rel_pos_h", new long[] { 64, 27 }, "not a weight")]
    [InlineData("v.blk.0.attn.rel_pos_h.weight", new long[] { 64, 27 }, "multimodal relative positions")]
    [InlineData("v.sam.neck.0.weight", new long[] { 768, 256 }, "multimodal SAM tensor")]
    [InlineData("a.rvq.codebook.0.weight", new long[] { 128, 1024 }, "audio codebook")]
    [InlineData("mm.a.code_embd.weight", new long[] { 1024, 2048 }, "audio codebook")]
    public void The_skip_list_keeps_these_tensors_as_they_are(string name, long[] shape, string why)
    {
        Assert.Equal(why, TensorTypeRules.WhyNotQuantized(name, shape, leaveOutputTensor: false));
    }

    [Theory]
    [InlineData("blk.0.attn_q.weight", new long[] { 256, 256 })]
    [InlineData("blk.0.ffn_up_exps.weight", new long[] { 256, 512, 8 })]
    [InlineData("token_embd.weight", new long[] { 256, 512 })]
    [InlineData("per_layer_token_embd.weight", new long[] { 8960, 262144 })]
    [InlineData("output.weight", new long[] { 256, 512 })]
    [InlineData("v.blk.0.attn_q.weight", new long[] { 1152, 1152 })] // mmproj files are quantized too
    [InlineData("blk.0.attn_q.weightweight", new long[] { 256, 256 })]
    [InlineData("embed", new long[] { 256, 256 })] // llama.cpp's unsigned "ends with weight" test passes for any 5-character name
    public void These_tensors_may_be_quantized(string name, long[] shape)
    {
        Assert.Null(TensorTypeRules.WhyNotQuantized(name, shape, leaveOutputTensor: false));
    }

    [Theory]
    [InlineData("output.weight", TensorCategory.Output)]
    [InlineData("token_embd.weight", TensorCategory.TokenEmbedding)]
    [InlineData("per_layer_token_embd.weight", TensorCategory.TokenEmbedding)]
    [InlineData("blk.0.attn_q.weight", TensorCategory.AttentionQ)]
    [InlineData("blk.0.attn_k.weight", TensorCategory.AttentionK)]
    [InlineData("blk.0.attn_v.weight", TensorCategory.AttentionV)]
    [InlineData("blk.0.attn_qkv.weight", TensorCategory.AttentionQkv)]
    [InlineData("blk.0.attn_kv_b.weight", TensorCategory.AttentionKvB)]
    [InlineData("blk.0.attn_output.weight", TensorCategory.AttentionOutput)]
    [InlineData("blk.0.ffn_up.weight", TensorCategory.FfnUp)]
    [InlineData("blk.0.ffn_up_exps.weight", TensorCategory.FfnUp)]
    [InlineData("blk.0.ffn_gate_shexp.weight", TensorCategory.FfnGate)]
    [InlineData("blk.0.ffn_down_exps.weight", TensorCategory.FfnDown)]
    [InlineData("blk.0.attn_q_a.weight", TensorCategory.Other)]
    [InlineData("output_norm.weight", TensorCategory.Other)]
    [InlineData("blk.0.output.weight", TensorCategory.Other)]
    public void Categories_follow_the_name(string name, TensorCategory expected)
    {
        Assert.Equal(expected, TensorCategories.Of(name));
    }

    [Theory]
    [InlineData(GgmlType.Q4_K, 512, GgmlType.Q4_K)]
    [InlineData(GgmlType.Q4_K, 288, GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_K, 288, GgmlType.Q5_1)]
    [InlineData(GgmlType.Q6_K, 288, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q2_K, 288, GgmlType.Q4_0)]
    [InlineData(GgmlType.Q3_K, 288, GgmlType.Q4_0)]
    [InlineData(GgmlType.TQ1_0, 288, GgmlType.Q4_0)]
    [InlineData(GgmlType.TQ2_0, 288, GgmlType.Q4_0)]
    [InlineData(GgmlType.Q2_0, 96, GgmlType.Q4_0)]
    [InlineData(GgmlType.IQ2_XXS, 288, GgmlType.IQ4_NL)]
    [InlineData(GgmlType.IQ1_M, 288, GgmlType.IQ4_NL)]
    [InlineData(GgmlType.IQ3_S, 288, GgmlType.IQ4_NL)]
    [InlineData(GgmlType.IQ4_XS, 288, GgmlType.IQ4_NL)]
    [InlineData(GgmlType.Q4_K, 100, GgmlType.F16)] // not even a multiple of 32
    [InlineData(GgmlType.Q4_0, 64, GgmlType.Q4_0)]
    public void The_2026_fallback_table(GgmlType target, long rowLength, GgmlType expected)
    {
        Assert.Equal(expected, TensorTypeFallback.Resolve(target, rowLength, "t"));
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 100)]
    [InlineData(GgmlType.Q8_0, 48)]
    [InlineData(GgmlType.Q1_0, 288)]
    [InlineData(GgmlType.MXFP4, 48)]
    public void Types_without_a_fallback_fail_clearly(GgmlType target, long rowLength)
    {
        var error = Assert.Throws<QuantizationException>(() => TensorTypeFallback.Resolve(target, rowLength, "blk.0.x.weight"));
        Assert.Contains("blk.0.x.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("no fallback", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_preset_without_fallback_for_odd_rows_fails_the_plan()
    {
        var fixture = MixFixture.Load("odd6");
        Assert.Throws<QuantizationException>(() => QuantizationPlan.Create(fixture.Tensors, fixture.Hyperparameters(), QuantizationPresets.Parse("Q1_0")));
    }

    [Fact]
    public void Pure_skips_the_mix_rules()
    {
        var plan = Plan(Llama(8), "Q4_K_M", new QuantizationOptions { Pure = true });
        foreach (var entry in plan.Entries)
        {
            if (entry.Tensor.Shape.Count == 1)
            {
                Assert.Equal(TensorTypeReason.NotQuantizable, entry.Reason);
                Assert.True(entry.IsCopied);
            }
            else
            {
                Assert.Equal(GgmlType.Q4_K, entry.TargetType);
                Assert.Equal(TensorTypeReason.Pure, entry.Reason);
            }
        }
        Assert.Equal(GgmlType.Q6_K, Plan(Llama(8), "Q4_K_M").TypeOf("output.weight"));
    }

    [Fact]
    public void Pure_still_falls_back_for_odd_rows()
    {
        var fixture = MixFixture.Load("odd6");
        var plan = QuantizationPlan.Create(fixture.Tensors, fixture.Hyperparameters(), QuantizationPresets.Parse("Q4_K_M"), new QuantizationOptions { Pure = true });
        var matrices = plan.Entries.Where(e => e.Tensor.Shape.Count == 2).ToList();
        Assert.All(matrices, e =>
        {
            Assert.Equal(GgmlType.Q5_0, e.TargetType);
            Assert.Equal(GgmlType.Q4_K, e.Decision.FallbackFrom);
            Assert.Equal(TensorTypeReason.Pure, e.Reason);
        });
        Assert.Equal(matrices.Count, plan.FallbackCount);
    }

    [Fact]
    public void The_output_tensor_type_is_used_as_given()
    {
        var plan = Plan(Llama(4), "Q4_K_M", new QuantizationOptions { OutputTensorType = GgmlType.Q8_0 });
        var output = plan.Find("output.weight")!;
        Assert.Equal(GgmlType.Q8_0, output.TargetType);
        Assert.Equal(TensorTypeReason.OutputTensorType, output.Reason);
        Assert.Equal(GgmlType.Q4_K, plan.TypeOf("token_embd.weight"));
    }

    [Fact]
    public void The_token_embedding_type_is_used_as_given()
    {
        var plan = Plan(Llama(4), "Q4_K_M", new QuantizationOptions { TokenEmbeddingType = GgmlType.Q8_0 });
        var embeddings = plan.Find("token_embd.weight")!;
        Assert.Equal(GgmlType.Q8_0, embeddings.TargetType);
        Assert.Equal(TensorTypeReason.TokenEmbeddingType, embeddings.Reason);
        Assert.Equal(GgmlType.Q6_K, plan.TypeOf("output.weight"));
    }

    [Fact]
    public void Tied_embeddings_get_the_output_rules_and_the_output_type()
    {
        Assert.Equal(GgmlType.Q6_K, Plan(Llama(4, tied: true), "Q4_K_M").TypeOf("token_embd.weight"));
        var plan = Plan(Llama(4, tied: true), "Q4_K_M", new QuantizationOptions { OutputTensorType = GgmlType.Q5_K });
        Assert.Equal(GgmlType.Q5_K, plan.TypeOf("token_embd.weight"));
        Assert.Equal(TensorTypeReason.OutputTensorType, plan.Find("token_embd.weight")!.Reason);
        // --token-embedding-type wins over the output type, even for tied embeddings.
        var both = Plan(Llama(4, tied: true), "Q4_K_M", new QuantizationOptions { OutputTensorType = GgmlType.Q5_K, TokenEmbeddingType = GgmlType.Q8_0 });
        Assert.Equal(GgmlType.Q8_0, both.TypeOf("token_embd.weight"));
    }

    [Fact]
    public void An_explicit_type_the_rows_cannot_hold_is_an_error_but_the_tied_path_falls_back()
    {
        // --output-tensor-type on output.weight bypasses the fallback; llama.cpp would fail writing it.
        var odd = Llama(2, width: 288, ffn: 544, kvWidth: 96);
        var error = Assert.Throws<QuantizationException>(() => Plan(odd, "Q4_K_M", new QuantizationOptions { OutputTensorType = GgmlType.Q4_K }));
        Assert.Contains("output.weight", error.Message, StringComparison.Ordinal);
        Assert.Throws<QuantizationException>(() => Plan(odd, "Q4_K_M", new QuantizationOptions { TokenEmbeddingType = GgmlType.Q4_K }));

        // Tied embeddings take the output type inside the mix rules, which the fallback follows.
        var tied = Llama(2, width: 288, ffn: 544, kvWidth: 96, tied: true);
        var plan = Plan(tied, "Q4_K_M", new QuantizationOptions { OutputTensorType = GgmlType.Q4_K });
        Assert.Equal(GgmlType.Q5_0, plan.TypeOf("token_embd.weight"));
        Assert.Equal(GgmlType.Q4_K, plan.Find("token_embd.weight")!.Decision.FallbackFrom);
    }

    [Fact]
    public void Leave_output_tensor_keeps_output_weight_as_it_is()
    {
        var plan = Plan(Llama(4), "Q4_K_M", new QuantizationOptions { LeaveOutputTensor = true });
        var output = plan.Find("output.weight")!;
        Assert.Equal(GgmlType.F16, output.TargetType);
        Assert.Equal(TensorTypeReason.NotQuantizable, output.Reason);
        Assert.Equal("--leave-output-tensor", output.Decision.Detail);
        Assert.True(output.IsCopied);
        // The output still exists, so the embeddings are not tied and keep their own rule.
        Assert.Equal(GgmlType.Q4_K, plan.TypeOf("token_embd.weight"));
        // --output-tensor-type does not undo --leave-output-tensor.
        var both = Plan(Llama(4), "Q4_K_M", new QuantizationOptions { LeaveOutputTensor = true, OutputTensorType = GgmlType.Q8_0 });
        Assert.Equal(GgmlType.F16, both.TypeOf("output.weight"));
    }

    [Fact]
    public void Tensor_type_overrides_parse_like_llama_quantize()
    {
        var parsed = TensorTypeOverride.Parse("ATTN_V=Q8_0");
        Assert.Equal("attn_v", parsed.Pattern);
        Assert.Equal(GgmlType.Q8_0, parsed.Type);
        Assert.Equal("attn_v=q8_0", parsed.ToString());
        Assert.Equal(GgmlType.Q4_K, TensorTypeOverride.Parse(@"blk\.[0-9]+\.ffn_down=q4_k").Type);
    }

    [Theory]
    [InlineData("attn_v", "expected PATTERN=TYPE")]
    [InlineData("=q8_0", "missing tensor name")]
    [InlineData("attn_v=", "missing quantization type")]
    [InlineData("attn_v=q9_9", "invalid quantization type 'q9_9'")]
    [InlineData("attn_v=Q4_K_M", "invalid quantization type 'Q4_K_M'")]
    [InlineData("a=b=q8_0", "invalid quantization type 'b=q8_0'")] // split at the first '=', as strchr does
    [InlineData("attn_(v=q8_0", "invalid tensor name pattern 'attn_(v'")]
    public void Bad_tensor_type_overrides_fail_clearly(string text, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => TensorTypeOverride.Parse(text));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tensor_type_overrides_search_the_name_and_the_first_match_wins()
    {
        var options = new QuantizationOptions
        {
            TensorTypeOverrides = [TensorTypeOverride.Parse(@"blk\.[0-1]\.attn_v=q8_0"), TensorTypeOverride.Parse("attn=q4_0"), TensorTypeOverride.Parse("attn_v=q2_k")],
        };
        var plan = Plan(Llama(4), "Q4_K_M", options);
        Assert.Equal(GgmlType.Q8_0, plan.TypeOf("blk.0.attn_v.weight"));
        Assert.Equal(GgmlType.Q8_0, plan.TypeOf("blk.1.attn_v.weight"));
        Assert.Equal(GgmlType.Q4_0, plan.TypeOf("blk.2.attn_v.weight"));
        Assert.Equal(GgmlType.Q4_0, plan.TypeOf("blk.3.attn_output.weight"));
        Assert.Equal(GgmlType.Q6_K, plan.TypeOf("blk.3.ffn_down.weight")); // rules still apply elsewhere: use_more_bits(3, 4)
        var entry = plan.Find("blk.0.attn_v.weight")!;
        Assert.Equal(TensorTypeReason.TensorTypeOverride, entry.Reason);
        Assert.Same(options.TensorTypeOverrides[0], entry.Decision.Override);
    }

    [Fact]
    public void Overridden_tensors_do_not_advance_the_attention_v_counter()
    {
        // Q4_K_M gives attn_v Q6_K where use_more_bits(i, 32) holds: i < 4, i >= 28, (i - 4) % 3 == 2.
        var plain = Plan(Llama(32), "Q4_K_M");
        Assert.Equal(GgmlType.Q6_K, plain.TypeOf("blk.3.attn_v.weight"));
        Assert.Equal(GgmlType.Q4_K, plain.TypeOf("blk.4.attn_v.weight"));
        Assert.Equal(GgmlType.Q6_K, plain.TypeOf("blk.6.attn_v.weight"));
        // With blk.0's attn_v overridden, blk.N is the (N-1)th the rules see.
        var shifted = Plan(Llama(32), "Q4_K_M", new QuantizationOptions { TensorTypeOverrides = [TensorTypeOverride.Parse(@"^blk\.0\.attn_v=q8_0")] });
        Assert.Equal(GgmlType.Q6_K, shifted.TypeOf("blk.4.attn_v.weight"));
        Assert.Equal(GgmlType.Q4_K, shifted.TypeOf("blk.6.attn_v.weight"));
        Assert.Equal(GgmlType.Q6_K, shifted.TypeOf("blk.7.attn_v.weight"));
    }

    [Fact]
    public void Tensor_type_overrides_still_fall_back()
    {
        var plan = Plan(Llama(2, width: 288, ffn: 544, kvWidth: 96), "Q8_0", new QuantizationOptions { TensorTypeOverrides = [TensorTypeOverride.Parse("attn_q=q4_k")] });
        var entry = plan.Find("blk.0.attn_q.weight")!;
        Assert.Equal(GgmlType.Q5_0, entry.TargetType);
        Assert.Equal(GgmlType.Q4_K, entry.Decision.FallbackFrom);
        Assert.Equal(TensorTypeReason.TensorTypeOverride, entry.Reason);
    }

    [Fact]
    public void Tensor_type_overrides_are_ignored_by_16_bit_presets()
    {
        var plan = Plan(Llama(2), "F16", new QuantizationOptions { TensorTypeOverrides = [TensorTypeOverride.Parse("attn_q=q8_0")] });
        Assert.Equal(GgmlType.F16, plan.TypeOf("blk.0.attn_q.weight"));
        Assert.Equal(TensorTypeReason.UnquantizedPreset, plan.Find("blk.0.attn_q.weight")!.Reason);
    }

    [Fact]
    public void An_importance_matrix_changes_some_rules()
    {
        var with = new QuantizationOptions { HasImportanceMatrix = true };
        // Q4_0/Q5_0: the first eighth of ffn_down goes to Q4_1/Q5_1, only with an importance matrix.
        Assert.Equal(GgmlType.Q4_0, Plan(Llama(16), "Q4_0").TypeOf("blk.1.ffn_down.weight"));
        Assert.Equal(GgmlType.Q4_1, Plan(Llama(16), "Q4_0", with).TypeOf("blk.1.ffn_down.weight"));
        Assert.Equal(GgmlType.Q4_0, Plan(Llama(16), "Q4_0", with).TypeOf("blk.2.ffn_down.weight"));
        Assert.Equal(GgmlType.Q5_1, Plan(Llama(16), "Q5_0", with).TypeOf("blk.0.ffn_down.weight"));
        // IQ4_NL/IQ4_XS: the first eighth of ffn_down goes to Q5_K, only without one.
        Assert.Equal(GgmlType.Q5_K, Plan(Llama(16), "IQ4_XS").TypeOf("blk.1.ffn_down.weight"));
        Assert.Equal(GgmlType.IQ4_XS, Plan(Llama(16), "IQ4_XS", with).TypeOf("blk.1.ffn_down.weight"));
        // IQ3_XXS attn_v without GQA: IQ3_S without an importance matrix, IQ3_XXS with one.
        Assert.Equal(GgmlType.IQ3_S, Plan(Llama(8), "IQ3_XXS", heads: 4, kvHeads: 4).TypeOf("blk.0.attn_v.weight"));
        Assert.Equal(GgmlType.IQ3_XXS, Plan(Llama(8), "IQ3_XXS", with, heads: 4, kvHeads: 4).TypeOf("blk.0.attn_v.weight"));
        Assert.Equal(GgmlType.Q4_K, Plan(Llama(8), "IQ3_XXS", heads: 8, kvHeads: 2).TypeOf("blk.0.attn_v.weight"));
        // IQ3_XXS ffn_down without one: Q4_K for the first eighth, Q3_K after.
        Assert.Equal(GgmlType.Q4_K, Plan(Llama(8), "IQ3_XXS").TypeOf("blk.0.ffn_down.weight"));
        Assert.Equal(GgmlType.Q3_K, Plan(Llama(8), "IQ3_XXS").TypeOf("blk.1.ffn_down.weight"));
        Assert.Equal(GgmlType.IQ3_XXS, Plan(Llama(8), "IQ3_XXS", with).TypeOf("blk.1.ffn_down.weight"));
    }

    [Fact]
    public void Low_bit_IQ_presets_need_an_importance_matrix_but_not_for_embeddings_or_output()
    {
        var plan = Plan(Llama(8), "IQ2_XXS");
        Assert.True(plan.RequiresImportanceMatrix);
        Assert.Equal(GgmlType.Q2_K, plan.TypeOf("token_embd.weight"));
        Assert.Equal(GgmlType.Q5_K, plan.TypeOf("output.weight"));
        Assert.False(plan.Find("token_embd.weight")!.RequiresImportanceMatrix);
        Assert.False(plan.Find("output.weight")!.RequiresImportanceMatrix);
        Assert.True(plan.Find("blk.1.ffn_up.weight")!.RequiresImportanceMatrix);
        Assert.False(Plan(Llama(8), "IQ2_XXS", new QuantizationOptions { HasImportanceMatrix = true }).RequiresImportanceMatrix);
        // Q2_K tensors need one only inside a Q2_K_S file.
        Assert.True(Plan(Llama(8), "Q2_K_S").RequiresImportanceMatrix);
        Assert.False(Plan(Llama(8), "Q2_K").RequiresImportanceMatrix);
        Assert.Contains("needs an importance matrix", plan.ToTable(), StringComparison.Ordinal);
    }

    [Fact]
    public void Low_bit_IQ_rules()
    {
        var gqa = Plan(Llama(16), "IQ2_M");
        Assert.Equal(GgmlType.IQ3_S, gqa.TypeOf("token_embd.weight"));
        Assert.Equal(GgmlType.Q4_K, gqa.TypeOf("blk.5.attn_v.weight")); // GQA 4
        Assert.Equal(GgmlType.IQ3_S, gqa.TypeOf("blk.1.ffn_down.weight")); // first eighth
        Assert.Equal(GgmlType.IQ2_S, gqa.TypeOf("blk.2.ffn_down.weight"));
        Assert.Equal(GgmlType.IQ3_S, gqa.TypeOf("blk.2.attn_output.weight"));
        var noGqa = Plan(Llama(16), "IQ1_S", heads: 4, kvHeads: 4);
        Assert.Equal(GgmlType.Q2_K, noGqa.TypeOf("blk.5.attn_v.weight"));
        Assert.Equal(GgmlType.IQ2_XXS, noGqa.TypeOf("blk.5.attn_output.weight"));
        Assert.Equal(GgmlType.IQ1_S, noGqa.TypeOf("blk.5.attn_q.weight"));
    }

    [Fact]
    public void Eight_experts_get_Q8_0_attention_values_and_keys()
    {
        var plan = Plan(Llama(8, experts: 8), "Q4_K_M", experts: 8);
        Assert.Equal(GgmlType.Q8_0, plan.TypeOf("blk.3.attn_v.weight"));
        Assert.Equal(GgmlType.Q8_0, plan.TypeOf("blk.3.attn_k.weight"));
        Assert.Equal(GgmlType.Q5_K, Plan(Llama(8, experts: 8), "Q3_K_M", experts: 8).TypeOf("blk.3.attn_output.weight"));
        Assert.Equal(GgmlType.F32, plan.TypeOf("blk.3.ffn_gate_inp.weight"));
        // Expert layers come from the names: use_more_bits(0, 8) and (7, 8) hold, (1, 8) does not.
        Assert.Equal(GgmlType.Q6_K, plan.TypeOf("blk.0.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.Q4_K, plan.TypeOf("blk.1.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.Q6_K, plan.TypeOf("blk.7.ffn_down_exps.weight"));
    }

    [Fact]
    public void Expert_tensors_outside_the_block_range_are_an_error()
    {
        var tensors = Llama(4, experts: 4);
        tensors.Add(new("blk.9.ffn_down_exps.weight", [256, 256, 4], GgmlType.F16));
        var model = ModelHyperparameters.Uniform("llama", 4, 8, 2, 4);
        var error = Assert.Throws<QuantizationException>(() => QuantizationPlan.Create(tensors, model, QuantizationPresets.Parse("Q4_K_M")));
        Assert.Contains("blk.9.ffn_down_exps.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MXFP4_MOE_gives_experts_MXFP4_and_everything_else_Q8_0()
    {
        var plan = Plan(Llama(4, experts: 4), "MXFP4_MOE", experts: 4);
        Assert.Equal(GgmlType.MXFP4, plan.TypeOf("blk.0.ffn_up_exps.weight"));
        Assert.Equal(GgmlType.MXFP4, plan.TypeOf("blk.2.ffn_down_exps.weight"));
        Assert.Equal(GgmlType.Q8_0, plan.TypeOf("blk.0.attn_q.weight"));
        Assert.Equal(GgmlType.Q8_0, plan.TypeOf("token_embd.weight"));
        Assert.Equal(GgmlType.Q8_0, plan.TypeOf("output.weight"));
    }

    [Fact]
    public void A_70B_llama_gets_Q5_K_attention_values()
    {
        var tensors = Llama(80);
        var gqa = ModelHyperparameters.Uniform("llama", 80, 64, 8);
        Assert.True(gqa.Is70B);
        var plan = QuantizationPlan.Create(tensors, gqa, QuantizationPresets.Parse("Q3_K_S"));
        Assert.Equal(GgmlType.Q5_K, plan.TypeOf("blk.40.attn_v.weight"));
        // An 80-block llama without GQA is a 65B: no bump.
        var mha = ModelHyperparameters.Uniform("llama", 80, 64, 64);
        Assert.False(mha.Is70B);
        Assert.Equal(GgmlType.Q3_K, QuantizationPlan.Create(tensors, mha, QuantizationPresets.Parse("Q3_K_S")).TypeOf("blk.40.attn_v.weight"));
        Assert.True(ModelHyperparameters.Uniform("qwen2", 80, 64, 8).Is70B);
        Assert.False(ModelHyperparameters.Uniform("gemma3", 80, 64, 8).Is70B);
    }

    [Fact]
    public void Falcon_has_its_own_branches()
    {
        var plan = Plan(Llama(8), "Q3_K_L", architecture: "falcon");
        Assert.Equal(GgmlType.Q8_0, plan.TypeOf("output.weight"));
        Assert.Equal(GgmlType.Q4_K, plan.TypeOf("blk.3.attn_output.weight"));
        Assert.Equal(GgmlType.Q4_K, plan.TypeOf("blk.3.ffn_down.weight"));
        Assert.Equal(GgmlType.Q5_K, Plan(Llama(8), "Q3_K_L").TypeOf("blk.3.ffn_down.weight"));
    }

    [Fact]
    public void Fused_qkv_counts_as_attention_v()
    {
        var tensors = new List<GgufTensorInfo> { Matrix("token_embd.weight", 256, 512), Matrix("output.weight", 256, 512) };
        for (var i = 0; i < 16; i++)
        {
            tensors.Add(Matrix($"blk.{i}.attn_qkv.weight", 256, 768));
        }
        var plan = Plan(tensors, "Q4_K_M");
        // use_more_bits(i, 16): i < 2, i >= 14, (i - 2) % 3 == 2.
        Assert.Equal(GgmlType.Q6_K, plan.TypeOf("blk.1.attn_qkv.weight"));
        Assert.Equal(GgmlType.Q4_K, plan.TypeOf("blk.2.attn_qkv.weight"));
        Assert.Equal(GgmlType.Q6_K, plan.TypeOf("blk.4.attn_qkv.weight"));
        Assert.Equal(GgmlType.Q6_K, plan.TypeOf("blk.15.attn_qkv.weight"));
    }

    [Fact]
    public void COPY_keeps_every_tensor()
    {
        var plan = Plan(Llama(2), "COPY");
        Assert.All(plan.Entries, e =>
        {
            Assert.True(e.IsCopied);
            Assert.Equal(TensorTypeReason.CopyOnly, e.Reason);
        });
        Assert.Equal(plan.SourceBytes, plan.TargetBytes);
    }

    [Fact]
    public void Sixteen_bit_presets_convert_matrices_and_keep_vectors()
    {
        var plan = Plan(Llama(2), "BF16");
        Assert.Equal(GgmlType.BF16, plan.TypeOf("blk.0.attn_q.weight"));
        Assert.Equal(GgmlType.BF16, plan.TypeOf("output.weight"));
        Assert.Equal(GgmlType.F32, plan.TypeOf("blk.0.attn_norm.weight"));
        Assert.True(Plan(Llama(2), "F16").Find("blk.0.attn_q.weight")!.IsCopied);
    }
}
