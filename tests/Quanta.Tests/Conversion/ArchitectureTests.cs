using System.Runtime.InteropServices;
using Quanta.Conversion;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Conversion;

/// <summary>Small synthetic checkpoints of the families without golden files: names, shapes, key order and types.</summary>
public sealed class ArchitectureTests : IDisposable
{
    readonly string _root = Path.Combine(Path.GetTempPath(), "quanta-arch-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    GgufFile Convert(string name, string config, List<(string, long[])> tensors, string type = "f16")
    {
        var directory = Path.Combine(_root, name);
        SyntheticCheckpoint.Write(directory, config, tensors);
        var output = Path.Combine(_root, name + ".gguf");
        var result = CliRunner.Run("convert", directory, "--type", type, "-o", output);
        Assert.True(result.ExitCode == 0, result.Error);
        return GgufFile.Open(output);
    }

    static void AssertKeys(GgufFile gguf, params (string Key, GgufValueType Type, object Value)[] expected)
    {
        var keys = gguf.Metadata.Where(k => !k.Key.StartsWith("general.", StringComparison.Ordinal) || k.Key == GgufKeys.FileType).ToList();
        Assert.Equal(expected.Select(e => e.Key), keys.Select(k => k.Key));
        foreach (var (key, type, value) in expected)
        {
            Assert.True(type == gguf.Metadata[key].Type, $"{key}: {gguf.Metadata[key].Type}, expected {type}");
            Assert.Equal(value, gguf.Metadata[key].RawValue);
        }
        Assert.Equal(GgufKeys.Architecture, gguf.Metadata[0].Key);
        Assert.Equal("general.type", gguf.Metadata[1].Key);
        Assert.Equal(GgufKeys.QuantizationVersion, gguf.Metadata[^1].Key);
    }

    static void AssertTensor(GgufFile gguf, string name, GgmlType type, params long[] shape)
    {
        var tensor = gguf.FindTensor(name);
        Assert.True(tensor is not null, $"{name} missing; have {string.Join(", ", gguf.Tensors.Select(t => t.Name))}");
        Assert.Equal(type, tensor.Type);
        Assert.Equal(shape, tensor.Shape);
    }

    [Fact]
    public void Qwen2_keeps_biases_in_f32_and_writes_yarn_keys()
    {
        const string config = """
            {"architectures":["Qwen2ForCausalLM"],"hidden_size":64,"intermediate_size":96,"num_hidden_layers":2,"num_attention_heads":4,
             "num_key_value_heads":2,"max_position_embeddings":32768,"rope_theta":1000000.0,"rms_norm_eps":1e-6,"vocab_size":128,
             "tie_word_embeddings":true,"sliding_window":32768,"use_sliding_window":false,
             "rope_scaling":{"type":"yarn","factor":4.0,"original_max_position_embeddings":32768}}
            """;
        using var gguf = Convert("qwen2", config, SyntheticCheckpoint.Decoder(2, 64, 96, 4, 2, 16, 128, lmHead: false, qkvBias: true));
        AssertKeys(gguf,
            ("qwen2.block_count", GgufValueType.UInt32, 2u),
            ("qwen2.context_length", GgufValueType.UInt32, 32768u),
            ("qwen2.embedding_length", GgufValueType.UInt32, 64u),
            ("qwen2.feed_forward_length", GgufValueType.UInt32, 96u),
            ("qwen2.attention.head_count", GgufValueType.UInt32, 4u),
            ("qwen2.attention.head_count_kv", GgufValueType.UInt32, 2u),
            ("qwen2.rope.freq_base", GgufValueType.Float32, 1000000f),
            ("qwen2.attention.layer_norm_rms_epsilon", GgufValueType.Float32, 1e-6f),
            (GgufKeys.FileType, GgufValueType.UInt32, 1u),
            ("qwen2.rope.scaling.type", GgufValueType.String, "yarn"),
            ("qwen2.rope.scaling.factor", GgufValueType.Float32, 4f),
            ("qwen2.rope.scaling.original_context_length", GgufValueType.UInt32, 32768u));
        Assert.Equal("qwen2", gguf.Metadata[GgufKeys.Architecture].AsString());
        AssertTensor(gguf, "blk.1.attn_q.bias", GgmlType.F32, 64);
        AssertTensor(gguf, "blk.1.attn_k.bias", GgmlType.F32, 32);
        AssertTensor(gguf, "blk.1.attn_k.weight", GgmlType.F16, 64, 32);
        AssertTensor(gguf, "token_embd.weight", GgmlType.F16, 64, 128);
        Assert.Null(gguf.FindTensor("output.weight"));
        Assert.Equal(2 + (2 * 12), gguf.Tensors.Count);
    }

    [Fact]
    public void Qwen3_maps_q_and_k_norms_and_head_dim()
    {
        const string config = """
            {"architectures":["Qwen3ForCausalLM"],"hidden_size":64,"intermediate_size":96,"num_hidden_layers":1,"num_attention_heads":4,
             "num_key_value_heads":2,"head_dim":32,"max_position_embeddings":40960,"rope_theta":1000000,"rms_norm_eps":1e-6,"vocab_size":128,
             "tie_word_embeddings":false,"rope_scaling":null}
            """;
        using var gguf = Convert("qwen3", config, SyntheticCheckpoint.Decoder(1, 64, 96, 4, 2, 32, 128, lmHead: true, qkNorm: true), "bf16");
        AssertKeys(gguf,
            ("qwen3.block_count", GgufValueType.UInt32, 1u),
            ("qwen3.context_length", GgufValueType.UInt32, 40960u),
            ("qwen3.embedding_length", GgufValueType.UInt32, 64u),
            ("qwen3.feed_forward_length", GgufValueType.UInt32, 96u),
            ("qwen3.attention.head_count", GgufValueType.UInt32, 4u),
            ("qwen3.attention.head_count_kv", GgufValueType.UInt32, 2u),
            ("qwen3.rope.freq_base", GgufValueType.Float32, 1000000f),
            ("qwen3.attention.layer_norm_rms_epsilon", GgufValueType.Float32, 1e-6f),
            ("qwen3.attention.key_length", GgufValueType.UInt32, 32u),
            ("qwen3.attention.value_length", GgufValueType.UInt32, 32u),
            (GgufKeys.FileType, GgufValueType.UInt32, 32u));
        AssertTensor(gguf, "blk.0.attn_q_norm.weight", GgmlType.F32, 32);
        AssertTensor(gguf, "blk.0.attn_k_norm.weight", GgmlType.F32, 32);
        AssertTensor(gguf, "blk.0.attn_q.weight", GgmlType.BF16, 64, 128);
        AssertTensor(gguf, "output.weight", GgmlType.BF16, 64, 128);
    }

    [Fact]
    public void Gemma2_has_sandwich_norms_plus_one_and_softcapping_keys()
    {
        const string config = """
            {"architectures":["Gemma2ForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
             "num_key_value_heads":2,"head_dim":32,"max_position_embeddings":8192,"rms_norm_eps":1e-6,"vocab_size":256,
             "attn_logit_softcapping":50.0,"final_logit_softcapping":30.0,"sliding_window":4096,"query_pre_attn_scalar":256}
            """;
        var tensors = SyntheticCheckpoint.Decoder(2, 64, 128, 4, 2, 32, 256, lmHead: false, sandwich: true);
        using var gguf = Convert("gemma2", config, tensors, "f32");
        AssertKeys(gguf,
            ("gemma2.context_length", GgufValueType.UInt32, 8192u),
            ("gemma2.embedding_length", GgufValueType.UInt32, 64u),
            ("gemma2.block_count", GgufValueType.UInt32, 2u),
            ("gemma2.feed_forward_length", GgufValueType.UInt32, 128u),
            ("gemma2.attention.head_count", GgufValueType.UInt32, 4u),
            ("gemma2.attention.head_count_kv", GgufValueType.UInt32, 2u),
            ("gemma2.attention.layer_norm_rms_epsilon", GgufValueType.Float32, 1e-6f),
            ("gemma2.attention.key_length", GgufValueType.UInt32, 32u),
            ("gemma2.attention.value_length", GgufValueType.UInt32, 32u),
            (GgufKeys.FileType, GgufValueType.UInt32, 0u),
            ("gemma2.attn_logit_softcapping", GgufValueType.Float32, 50f),
            ("gemma2.final_logit_softcapping", GgufValueType.Float32, 30f),
            ("gemma2.attention.sliding_window", GgufValueType.UInt32, 4096u));
        AssertTensor(gguf, "blk.0.post_attention_norm.weight", GgmlType.F32, 64);
        AssertTensor(gguf, "blk.0.ffn_norm.weight", GgmlType.F32, 64);
        AssertTensor(gguf, "blk.0.post_ffw_norm.weight", GgmlType.F32, 64);
        AssertTensor(gguf, "blk.1.attn_q.weight", GgmlType.F32, 64, 128);
        using var model = ConvertedModel.Open(Path.Combine(_root, "gemma2"));
        var norm = model.Tensors.Single(t => t.Info.Name == "blk.0.post_ffw_norm.weight");
        var raw = norm.Source!.Data;
        var written = MemoryMarshal.Cast<byte, float>(gguf.FindTensor("blk.0.post_ffw_norm.weight")!.Data);
        for (var i = 0; i < 64; i++)
        {
            Assert.Equal(BFloat16.ToFloat(BitConverter.ToUInt16(raw[(i * 2)..])) + 1f, written[i]);
        }
    }

    [Fact]
    public void Gemma3_text_adds_one_to_qk_norms_and_uses_its_defaults()
    {
        const string config = """
            {"architectures":["Gemma3ForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,
             "num_key_value_heads":1,"head_dim":32,"rms_norm_eps":1e-6,"vocab_size":256,"sliding_window":512,"rope_theta":1000000.0,
             "rope_scaling":{"rope_type":"linear","factor":8.0},"final_logit_softcapping":null,"attn_logit_softcapping":null}
            """;
        var tensors = SyntheticCheckpoint.Decoder(1, 64, 128, 4, 1, 32, 256, lmHead: false, qkNorm: true, sandwich: true);
        using var gguf = Convert("gemma3", config, tensors, "q8_0");
        AssertKeys(gguf,
            ("gemma3.context_length", GgufValueType.UInt32, 131072u),
            ("gemma3.embedding_length", GgufValueType.UInt32, 64u),
            ("gemma3.block_count", GgufValueType.UInt32, 1u),
            ("gemma3.feed_forward_length", GgufValueType.UInt32, 128u),
            ("gemma3.attention.head_count", GgufValueType.UInt32, 4u),
            ("gemma3.attention.layer_norm_rms_epsilon", GgufValueType.Float32, 1e-6f),
            ("gemma3.attention.key_length", GgufValueType.UInt32, 32u),
            ("gemma3.attention.value_length", GgufValueType.UInt32, 32u),
            (GgufKeys.FileType, GgufValueType.UInt32, 7u),
            ("gemma3.rope.freq_base", GgufValueType.Float32, 1000000f),
            ("gemma3.attention.sliding_window", GgufValueType.UInt32, 512u),
            ("gemma3.attention.head_count_kv", GgufValueType.UInt32, 1u),
            ("gemma3.rope.scaling.type", GgufValueType.String, "linear"),
            ("gemma3.rope.scaling.factor", GgufValueType.Float32, 8f));
        AssertTensor(gguf, "blk.0.attn_q_norm.weight", GgmlType.F32, 32);
        AssertTensor(gguf, "blk.0.attn_k_norm.weight", GgmlType.F32, 32);
        AssertTensor(gguf, "blk.0.attn_k.weight", GgmlType.Q8_0, 64, 32);
        AssertTensor(gguf, "token_embd.weight", GgmlType.Q8_0, 64, 256);
        using var model = ConvertedModel.Open(Path.Combine(_root, "gemma3"));
        Assert.True(model.Tensors.Single(t => t.Info.Name == "blk.0.attn_q_norm.weight").Mapping.AddOne);

        // With a tokenizer of 200 tokens, the embedding rows past the vocabulary are dropped.
        using var trimmed = ConvertedModel.Open(Path.Combine(_root, "gemma3"), new ConvertTests.FakeTokenizer(200));
        Assert.Equal([64L, 200L], trimmed.Tensors.Single(t => t.Info.Name == "token_embd.weight").Info.Shape);
    }

    [Fact]
    public void Llama3_rope_scaling_adds_rope_freqs_first()
    {
        const string config = """
            {"architectures":["LlamaForCausalLM"],"hidden_size":128,"intermediate_size":256,"num_hidden_layers":1,"num_attention_heads":2,
             "num_key_value_heads":1,"head_dim":64,"max_position_embeddings":131072,"rope_theta":500000.0,"rms_norm_eps":1e-5,"vocab_size":64,
             "tie_word_embeddings":true,
             "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}}
            """;
        using var gguf = Convert("llama32", config, SyntheticCheckpoint.Decoder(1, 128, 256, 2, 1, 64, 64, lmHead: false));
        Assert.Equal("rope_freqs.weight", gguf.Tensors[0].Name);
        AssertTensor(gguf, "rope_freqs.weight", GgmlType.F32, 32);
        var factors = MemoryMarshal.Cast<byte, float>(gguf.Tensors[0].Data).ToArray();
        Assert.Equal(1f, factors[0]);
        Assert.Equal(32f, factors[^1]);
        Assert.All(factors, f => Assert.InRange(f, 1f, 32f));
        Assert.True(factors.Zip(factors.Skip(1)).All(p => p.First <= p.Second), "factors grow with the wavelength");
        AssertKeys(gguf,
            ("llama.block_count", GgufValueType.UInt32, 1u),
            ("llama.context_length", GgufValueType.UInt32, 131072u),
            ("llama.embedding_length", GgufValueType.UInt32, 128u),
            ("llama.feed_forward_length", GgufValueType.UInt32, 256u),
            ("llama.attention.head_count", GgufValueType.UInt32, 2u),
            ("llama.attention.head_count_kv", GgufValueType.UInt32, 1u),
            ("llama.rope.freq_base", GgufValueType.Float32, 500000f),
            ("llama.attention.layer_norm_rms_epsilon", GgufValueType.Float32, 1e-5f),
            ("llama.attention.key_length", GgufValueType.UInt32, 64u),
            ("llama.attention.value_length", GgufValueType.UInt32, 64u),
            (GgufKeys.FileType, GgufValueType.UInt32, 1u),
            ("llama.vocab_size", GgufValueType.UInt32, 64u),
            ("llama.rope.dimension_count", GgufValueType.UInt32, 64u));
        Assert.Null(gguf.FindTensor("output.weight"));
    }

    [Fact]
    public void Phi3_longrope_writes_the_attention_factor_early_and_the_factor_tensors()
    {
        var longFactors = string.Join(',', Enumerable.Range(0, 8).Select(i => (1 + i * 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var config = $$$"""
            {"architectures":["Phi3ForCausalLM"],"hidden_size":64,"intermediate_size":96,"num_hidden_layers":1,"num_attention_heads":4,
             "num_key_value_heads":4,"max_position_embeddings":131072,"original_max_position_embeddings":4096,"rope_theta":10000.0,
             "rms_norm_eps":1e-5,"vocab_size":64,"sliding_window":262144,
             "rope_scaling":{"type":"longrope","long_factor":[{{{longFactors}}}],"short_factor":[1,1,1,1,1,1,1,1]}}
            """;
        var tensors = new List<(string, long[])>
        {
            ("model.embed_tokens.weight", [64, 64]),
            ("model.layers.0.self_attn.qkv_proj.weight", [192, 64]),
            ("model.layers.0.self_attn.o_proj.weight", [64, 64]),
            ("model.layers.0.mlp.gate_up_proj.weight", [192, 64]),
            ("model.layers.0.mlp.down_proj.weight", [64, 96]),
            ("model.layers.0.input_layernorm.weight", [64]),
            ("model.layers.0.post_attention_layernorm.weight", [64]),
            ("model.norm.weight", [64]),
            ("lm_head.weight", [64, 64]),
        };
        using var gguf = Convert("phi3-long", config, tensors);
        Assert.Equal("phi3.rope.scaling.attn_factor", gguf.Metadata[1].Key);
        Assert.Equal((float)Math.Sqrt(1 + (Math.Log(32) / Math.Log(4096))), gguf.Metadata[1].Value.AsFloat32());
        Assert.Equal(["rope_factors_long.weight", "rope_factors_short.weight"], gguf.Tensors.Take(2).Select(t => t.Name));
        Assert.Equal(4.5f, MemoryMarshal.Cast<byte, float>(gguf.Tensors[0].Data)[7]);
        AssertTensor(gguf, "blk.0.attn_qkv.weight", GgmlType.F16, 64, 192);
        AssertTensor(gguf, "blk.0.ffn_up.weight", GgmlType.F16, 64, 192);
    }

    [Fact]
    public void Model_names_and_size_labels_follow_gguf_py()
    {
        Assert.Equal("Llama 3.2 1B Instruct", ModelNaming.IdToTitle("Llama-3.2-1B-Instruct"));
        Assert.Equal("Phi3", ModelNaming.IdToTitle("phi3"));
        Assert.Equal("Qwen2.5 0.5B", ModelNaming.IdToTitle("qwen2.5-0.5B"));
        Assert.Equal("v2 Model", ModelNaming.IdToTitle("v2-model"));
        Assert.Equal("17M", ModelNaming.SizeLabel(17_499_392));
        Assert.Equal("9.3M", ModelNaming.SizeLabel(9_307_392));
        Assert.Equal("1.2B", ModelNaming.SizeLabel(1_235_814_400));
        Assert.Equal("492M", ModelNaming.SizeLabel(492_000_000));
        Assert.Equal("8.0B", ModelNaming.SizeLabel(8_030_261_248));
    }
}
