using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Conversion;

/// <summary>
/// Gemma 3 and LLaVA checkpoints with a vision tower, converted in Ollama's single-file layout and llama.cpp's
/// text + mmproj layout. Expected names, types and keys are read off llama.cpp's converters
/// (<c>Gemma3VisionModel</c>, <c>convert_image_encoder_to_gguf.py</c>) and Ollama's <c>convert_gemma3.go</c>.
/// </summary>
public sealed class MultimodalConvertTests : IDisposable
{
    readonly string _root = Path.Combine(Path.GetTempPath(), "quanta-mm-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    const string Gemma3Config = """
        {"architectures":["Gemma3ForConditionalGeneration"],"model_type":"gemma3","mm_tokens_per_image":4,
         "boi_token_index":255999,"eoi_token_index":256000,"image_token_index":262144,"initializer_range":0.02,
         "text_config":{"model_type":"gemma3_text","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,
           "num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"max_position_embeddings":4096,"rms_norm_eps":1e-6,
           "rope_theta":1000000.0,"rope_local_base_freq":10000.0,"sliding_window":512,"vocab_size":256,"query_pre_attn_scalar":16},
         "vision_config":{"model_type":"siglip_vision_model","hidden_size":64,"intermediate_size":80,"num_hidden_layers":2,
           "num_attention_heads":2,"image_size":32,"patch_size":8,"num_channels":3,"layer_norm_eps":1e-6,"hidden_act":"gelu_pytorch_tanh",
           "vision_use_head":false}}
        """;

    const string LlavaConfig = """
        {"architectures":["LlavaForConditionalGeneration"],"model_type":"llava","vision_feature_layer":-2,
         "vision_feature_select_strategy":"default","projector_hidden_act":"gelu","image_token_index":32000,
         "text_config":{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
           "num_key_value_heads":4,"max_position_embeddings":4096,"rms_norm_eps":1e-5,"rope_theta":10000.0,"vocab_size":128},
         "vision_config":{"model_type":"clip_vision_model","hidden_size":32,"intermediate_size":64,"num_hidden_layers":3,
           "num_attention_heads":2,"image_size":28,"patch_size":14,"projection_dim":48,"layer_norm_eps":1e-5,"hidden_act":"quick_gelu"}}
        """;

    static List<(string, long[])> SiglipOrClip(int layers, int width, int ffn, int patch, int positions, bool clip)
    {
        const string p = "vision_tower.vision_model.";
        var list = new List<(string, long[])>
        {
            (p + "embeddings.patch_embedding.weight", [width, 3, patch, patch]),
            (p + "embeddings.position_embedding.weight", [positions, width]),
        };
        list.Add(clip ? (p + "embeddings.class_embedding", [width]) : (p + "embeddings.patch_embedding.bias", [width]));
        if (clip)
        {
            list.Add((p + "pre_layrnorm.weight", [width]));
            list.Add((p + "pre_layrnorm.bias", [width]));
        }
        for (var i = 0; i < layers; i++)
        {
            var l = $"{p}encoder.layers.{i}.";
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                list.Add((l + $"self_attn.{proj}.weight", [width, width]));
                list.Add((l + $"self_attn.{proj}.bias", [width]));
            }
            foreach (var norm in new[] { "layer_norm1", "layer_norm2" })
            {
                list.Add((l + norm + ".weight", [width]));
                list.Add((l + norm + ".bias", [width]));
            }
            list.Add((l + "mlp.fc1.weight", [ffn, width]));
            list.Add((l + "mlp.fc1.bias", [ffn]));
            list.Add((l + "mlp.fc2.weight", [width, ffn]));
            list.Add((l + "mlp.fc2.bias", [width]));
        }
        list.Add((p + "post_layernorm.weight", [width]));
        list.Add((p + "post_layernorm.bias", [width]));
        return list;
    }

    string Gemma3()
    {
        var directory = Path.Combine(_root, "gemma3-mm");
        if (Directory.Exists(directory))
        {
            return directory;
        }
        var tensors = SyntheticCheckpoint.Decoder(2, 64, 128, 4, 2, 16, 256, lmHead: false, qkNorm: true, sandwich: true)
            .Select(t => ("language_model." + t.Item1, t.Item2)).ToList();
        tensors.AddRange(SiglipOrClip(2, 64, 80, 8, 16, clip: false));
        tensors.Add(("multi_modal_projector.mm_input_projection_weight", [64, 64]));
        tensors.Add(("multi_modal_projector.mm_soft_emb_norm.weight", [64]));
        SyntheticCheckpoint.Write(directory, Gemma3Config, tensors, seed: 7);
        File.WriteAllText(Path.Combine(directory, "preprocessor_config.json"),
            """{"image_processor_type":"Gemma3ImageProcessor","image_mean":[0.5,0.5,0.5],"image_std":[0.5,0.5,0.5],"image_seq_length":4,"size":{"height":32,"width":32}}""");
        return directory;
    }

    string Llava()
    {
        var directory = Path.Combine(_root, "llava-mm");
        if (Directory.Exists(directory))
        {
            return directory;
        }
        var tensors = SyntheticCheckpoint.Decoder(2, 64, 128, 4, 4, 16, 128, lmHead: true)
            .Select(t => ("language_model." + t.Item1, t.Item2)).ToList();
        tensors.AddRange(SiglipOrClip(3, 32, 64, 14, 5, clip: true));
        tensors.Add(("multi_modal_projector.linear_1.weight", [64, 32]));
        tensors.Add(("multi_modal_projector.linear_1.bias", [64]));
        tensors.Add(("multi_modal_projector.linear_2.weight", [64, 64]));
        tensors.Add(("multi_modal_projector.linear_2.bias", [64]));
        SyntheticCheckpoint.Write(directory, LlavaConfig, tensors, seed: 11);
        return directory;
    }

    (string Text, string Projector) Convert(string directory, string type, params string[] extra)
    {
        var output = Path.Combine(_root, $"{Path.GetFileName(directory)}-{type}-{Guid.NewGuid():N}.gguf");
        var result = CliRunner.Run(["convert", directory, "--type", type, "-o", output, .. extra]);
        Assert.True(result.ExitCode == 0, result.Error);
        return (output, Path.Combine(_root, "mmproj-" + Path.GetFileName(output)));
    }

    static void AssertTensor(GgufFile gguf, string name, GgmlType type, params long[] shape)
    {
        var tensor = gguf.FindTensor(name);
        Assert.True(tensor is not null, $"{name} missing; have {string.Join(", ", gguf.Tensors.Select(t => t.Name))}");
        Assert.True(type == tensor.Type, $"{name}: {tensor.Type}, expected {type}");
        Assert.Equal(shape, tensor.Shape);
    }

    static void AssertKeys(GgufFile gguf, string prefix, params (string Key, GgufValueType Type, object Value)[] expected)
    {
        var keys = gguf.Metadata.Where(k => k.Key.StartsWith(prefix, StringComparison.Ordinal) || k.Key == GgufKeys.FileType).Select(k => k.Key);
        Assert.Equal(expected.Select(e => e.Key), keys);
        foreach (var (key, type, value) in expected)
        {
            var actual = gguf.Metadata[key];
            Assert.True(type == actual.Type, $"{key}: {actual.Type}, expected {type}");
            if (value is Array array)
            {
                Assert.Equal(array, actual.AsArray().Items);
            }
            else
            {
                Assert.Equal(value, actual.RawValue);
            }
        }
    }

    static float[] Floats(GgufTensor tensor) => tensor.Type switch
    {
        GgmlType.F32 => MemoryMarshal.Cast<byte, float>(tensor.Data).ToArray(),
        GgmlType.F16 => [.. MemoryMarshal.Cast<byte, ushort>(tensor.Data).ToArray().Select(Fp16.ToFloat)],
        _ => throw new InvalidOperationException(tensor.Type.ToString()),
    };

    /// <summary>The checkpoint's values of <paramref name="hfName"/>, as float32 (the synthetic weights are BF16).</summary>
    static float[] Source(string directory, string hfName)
    {
        using var checkpoint = Quanta.Formats.Safetensors.SafetensorsCheckpoint.Open(directory);
        var tensor = checkpoint.Tensors.Single(t => t.Name == hfName);
        var values = new float[tensor.Shape.Aggregate(1L, (a, b) => a * b)];
        var scratch = new byte[values.Length * 2];
        tensor.ReadFloats(0, values, scratch);
        return values;
    }

    [Fact]
    public void Gemma3_single_file_holds_text_vision_and_projector_with_ollamas_names_and_keys()
    {
        using var gguf = GgufFile.Open(Convert(Gemma3(), "f16").Text);
        Assert.Equal("gemma3", gguf.Metadata[GgufKeys.Architecture].AsString());
        AssertKeys(gguf, "gemma3.vision.",
            (GgufKeys.FileType, GgufValueType.UInt32, 1u),
            ("gemma3.vision.block_count", GgufValueType.UInt32, 2u),
            ("gemma3.vision.embedding_length", GgufValueType.UInt32, 64u),
            ("gemma3.vision.feed_forward_length", GgufValueType.UInt32, 80u),
            ("gemma3.vision.image_size", GgufValueType.UInt32, 32u),
            ("gemma3.vision.patch_size", GgufValueType.UInt32, 8u),
            ("gemma3.vision.num_channels", GgufValueType.UInt32, 3u),
            ("gemma3.vision.attention.head_count", GgufValueType.UInt32, 2u),
            ("gemma3.vision.attention.layer_norm_epsilon", GgufValueType.Float32, 1e-6f));
        Assert.Equal(4u, gguf.Metadata["gemma3.mm.tokens_per_image"].AsUInt32());
        Assert.Equal(64u, gguf.Metadata["gemma3.embedding_length"].AsUInt32());
        Assert.Equal(2u, gguf.Metadata["gemma3.block_count"].AsUInt32());
        Assert.DoesNotContain(gguf.Metadata, k => k.Key.StartsWith("clip.", StringComparison.Ordinal));

        AssertTensor(gguf, "blk.1.attn_q.weight", GgmlType.F16, 64, 64);
        AssertTensor(gguf, "blk.1.attn_q_norm.weight", GgmlType.F32, 16);
        AssertTensor(gguf, "token_embd.weight", GgmlType.F16, 64, 256);
        AssertTensor(gguf, "v.patch_embedding.weight", GgmlType.F16, 8, 8, 3, 64);
        AssertTensor(gguf, "v.patch_embedding.bias", GgmlType.F32, 64);
        AssertTensor(gguf, "v.position_embedding.weight", GgmlType.F16, 64, 16);
        AssertTensor(gguf, "v.blk.1.attn_q.weight", GgmlType.F16, 64, 64);
        AssertTensor(gguf, "v.blk.1.attn_output.weight", GgmlType.F16, 64, 64);
        AssertTensor(gguf, "v.blk.1.attn_output.bias", GgmlType.F32, 64);
        AssertTensor(gguf, "v.blk.0.layer_norm1.weight", GgmlType.F32, 64);
        AssertTensor(gguf, "v.blk.0.layer_norm2.bias", GgmlType.F32, 64);
        AssertTensor(gguf, "v.blk.0.mlp.fc1.weight", GgmlType.F16, 64, 80);
        AssertTensor(gguf, "v.blk.0.mlp.fc2.weight", GgmlType.F16, 80, 64);
        AssertTensor(gguf, "v.post_layernorm.weight", GgmlType.F32, 64);
        // HF keeps the projection as a raw [vision, text] parameter; GGUF's order reverses it.
        AssertTensor(gguf, "mm.mm_input_projection.weight", GgmlType.F16, 64, 64);
        AssertTensor(gguf, "mm.mm_soft_emb_norm.weight", GgmlType.F32, 64);
        // 2 text layers × 13 + embeddings and norm; 4 + 2 × 16 + 2 vision; 2 projector.
        Assert.Equal((2 * 13) + 2 + 3 + (2 * 16) + 2 + 2, gguf.Tensors.Count);
    }

    [Fact]
    public void Gemma3_f32_single_file_gives_back_the_vision_tensors_exactly()
    {
        var directory = Gemma3();
        using var gguf = GgufFile.Open(Convert(directory, "f32").Text);
        var pairs = new (string Hf, string Gguf, bool AddOne)[]
        {
            ("vision_tower.vision_model.embeddings.patch_embedding.weight", "v.patch_embedding.weight", false),
            ("vision_tower.vision_model.embeddings.position_embedding.weight", "v.position_embedding.weight", false),
            ("vision_tower.vision_model.encoder.layers.1.self_attn.out_proj.weight", "v.blk.1.attn_output.weight", false),
            ("vision_tower.vision_model.encoder.layers.0.mlp.fc2.weight", "v.blk.0.mlp.fc2.weight", false),
            ("vision_tower.vision_model.encoder.layers.0.layer_norm1.weight", "v.blk.0.layer_norm1.weight", false),
            ("vision_tower.vision_model.post_layernorm.bias", "v.post_layernorm.bias", false),
            ("multi_modal_projector.mm_input_projection_weight", "mm.mm_input_projection.weight", false),
            ("multi_modal_projector.mm_soft_emb_norm.weight", "mm.mm_soft_emb_norm.weight", true),
        };
        foreach (var (hf, name, addOne) in pairs)
        {
            var tensor = gguf.FindTensor(name)!;
            Assert.Equal(GgmlType.F32, tensor.Type);
            var expected = Source(directory, hf).Select(v => addOne ? v + 1f : v).ToArray();
            Assert.Equal(expected, Floats(tensor));
        }
        Assert.All(gguf.Tensors.Where(t => t.Name.StartsWith("v.", StringComparison.Ordinal) || t.Name.StartsWith("mm.", StringComparison.Ordinal)),
            t => Assert.Equal(GgmlType.F32, t.Type));
    }

    [Fact]
    public void Gemma3_mmproj_writes_the_text_model_and_a_clip_file_as_llama_cpp_does()
    {
        var directory = Gemma3();
        var (textPath, projectorPath) = Convert(directory, "f16", "--mmproj");
        using (var text = GgufFile.Open(textPath))
        {
            Assert.Equal("gemma3", text.Metadata[GgufKeys.Architecture].AsString());
            Assert.DoesNotContain(text.Tensors, t => t.Name.StartsWith("v.", StringComparison.Ordinal) || t.Name.StartsWith("mm.", StringComparison.Ordinal));
            Assert.DoesNotContain(text.Metadata, k => k.Key.Contains(".vision.", StringComparison.Ordinal));
            Assert.Equal((2 * 13) + 2, text.Tensors.Count);
            AssertTensor(text, "blk.0.post_ffw_norm.weight", GgmlType.F32, 64);
        }
        using var clip = GgufFile.Open(projectorPath);
        Assert.Equal("clip", clip.Metadata[GgufKeys.Architecture].AsString());
        Assert.Equal("mmproj", clip.Metadata["general.type"].AsString());
        Assert.Equal(GgufKeys.QuantizationVersion, clip.Metadata[^1].Key);
        AssertKeys(clip, "clip.",
            (GgufKeys.FileType, GgufValueType.UInt32, 1u),
            ("clip.has_vision_encoder", GgufValueType.Bool, true),
            ("clip.vision.projection_dim", GgufValueType.UInt32, 64u),
            ("clip.vision.image_size", GgufValueType.UInt32, 32u),
            ("clip.vision.patch_size", GgufValueType.UInt32, 8u),
            ("clip.vision.embedding_length", GgufValueType.UInt32, 64u),
            ("clip.vision.feed_forward_length", GgufValueType.UInt32, 80u),
            ("clip.vision.block_count", GgufValueType.UInt32, 2u),
            ("clip.vision.attention.head_count", GgufValueType.UInt32, 2u),
            ("clip.vision.image_mean", GgufValueType.Array, new[] { 0.5f, 0.5f, 0.5f }),
            ("clip.vision.image_std", GgufValueType.Array, new[] { 0.5f, 0.5f, 0.5f }),
            ("clip.projector_type", GgufValueType.String, "gemma3"),
            ("clip.vision.attention.layer_norm_epsilon", GgufValueType.Float32, 1e-6f),
            ("clip.use_gelu", GgufValueType.Bool, true),
            // 32 / 8 = 4 patches a side pooled to sqrt(4) = 2 tokens a side: not clip.cpp's default of 4.
            ("clip.vision.projector.scale_factor", GgufValueType.UInt32, 2u));
        AssertTensor(clip, "v.patch_embd.weight", GgmlType.F32, 8, 8, 3, 64);
        AssertTensor(clip, "v.patch_embd.bias", GgmlType.F32, 64);
        AssertTensor(clip, "v.position_embd.weight", GgmlType.F32, 64, 16);
        AssertTensor(clip, "v.blk.0.attn_q.weight", GgmlType.F16, 64, 64);
        AssertTensor(clip, "v.blk.0.attn_out.weight", GgmlType.F16, 64, 64);
        AssertTensor(clip, "v.blk.0.attn_out.bias", GgmlType.F32, 64);
        AssertTensor(clip, "v.blk.1.ln1.weight", GgmlType.F32, 64);
        AssertTensor(clip, "v.blk.1.ln2.bias", GgmlType.F32, 64);
        AssertTensor(clip, "v.blk.1.ffn_up.weight", GgmlType.F16, 64, 80);
        AssertTensor(clip, "v.blk.1.ffn_down.weight", GgmlType.F16, 80, 64);
        AssertTensor(clip, "v.post_ln.weight", GgmlType.F32, 64);
        AssertTensor(clip, "mm.input_projection.weight", GgmlType.F16, 64, 64);
        AssertTensor(clip, "mm.soft_emb_norm.weight", GgmlType.F32, 64);
        Assert.Equal(3 + (2 * 16) + 2 + 2, clip.Tensors.Count);
        var norm = Source(directory, "multi_modal_projector.mm_soft_emb_norm.weight").Select(v => v + 1f);
        Assert.Equal(norm, Floats(clip.FindTensor("mm.soft_emb_norm.weight")!));
        Assert.Equal(Source(directory, "vision_tower.vision_model.embeddings.patch_embedding.weight"), Floats(clip.FindTensor("v.patch_embd.weight")!));
    }

    [Fact]
    public void Gemma3_mmproj_in_f32_keeps_the_projection_in_f16()
    {
        using var clip = GgufFile.Open(Convert(Gemma3(), "f32", "--mmproj").Projector);
        Assert.Equal(0u, clip.Metadata[GgufKeys.FileType].AsUInt32());
        AssertTensor(clip, "mm.input_projection.weight", GgmlType.F16, 64, 64);
        AssertTensor(clip, "v.blk.0.ffn_up.weight", GgmlType.F32, 64, 80);
        AssertTensor(clip, "v.blk.0.attn_k.weight", GgmlType.F32, 64, 64);
    }

    [Fact]
    public void A_preset_quantizes_the_text_model_and_keeps_the_image_tensors_as_the_f16_conversion_writes_them()
    {
        var directory = Gemma3();
        var straight = Convert(directory, "Q4_K_M").Text;
        using (var gguf = GgufFile.Open(straight))
        {
            Assert.NotEqual(GgmlType.F16, gguf.FindTensor("blk.0.ffn_up.weight")!.Type);
            Assert.All(gguf.Tensors.Where(t => t.Name.StartsWith("v.", StringComparison.Ordinal) || t.Name.StartsWith("mm.", StringComparison.Ordinal)),
                t => Assert.Equal(t.Shape.Count(d => d > 1) > 1 ? GgmlType.F16 : GgmlType.F32, t.Type));
        }
        // The same bytes as converting with --type auto (bf16 text, F16 image tensors) and then quantizing.
        var intermediate = Convert(directory, "auto").Text;
        var twoStep = Path.Combine(_root, "two-step-gemma3.gguf");
        var result = CliRunner.Run("quantize", intermediate, twoStep, "Q4_K_M");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(File.ReadAllBytes(twoStep).AsSpan().SequenceEqual(File.ReadAllBytes(straight)));

        var withVision = Convert(directory, "Q4_K_M", "--vision-type", "q8_0").Text;
        using var quantized = GgufFile.Open(withVision);
        Assert.Equal(GgmlType.Q8_0, quantized.FindTensor("v.blk.0.attn_q.weight")!.Type);
        // fc2's rows hold 80 elements, not whole Q8_0 blocks: F16 instead of failing the file.
        Assert.Equal(GgmlType.F16, quantized.FindTensor("v.blk.0.mlp.fc2.weight")!.Type);
        Assert.Equal(GgmlType.F16, quantized.FindTensor("mm.mm_input_projection.weight")!.Type);
    }

    [Fact]
    public void With_mmproj_a_preset_applies_to_the_text_file_and_vision_type_to_the_projector()
    {
        var (textPath, projectorPath) = Convert(Gemma3(), "Q4_K_M", "--mmproj", "--vision-type", "q8_0");
        using (var text = GgufFile.Open(textPath))
        {
            Assert.Equal((uint)15, text.Metadata[GgufKeys.FileType].AsUInt32());
        }
        using var clip = GgufFile.Open(projectorPath);
        Assert.Equal(GgmlType.Q8_0, clip.FindTensor("v.blk.0.attn_q.weight")!.Type);
        Assert.Equal(GgmlType.Q8_0, clip.FindTensor("v.blk.0.ffn_up.weight")!.Type);
        Assert.Equal(GgmlType.F32, clip.FindTensor("v.blk.0.ln1.weight")!.Type);
        // fc2's rows hold 80 elements, not whole Q8_0 blocks: F16 instead of failing the file.
        Assert.Equal(GgmlType.F16, clip.FindTensor("v.blk.0.ffn_down.weight")!.Type);
        Assert.Equal(GgmlType.F32, clip.FindTensor("v.position_embd.weight")!.Type);
        Assert.Equal(GgmlType.F32, clip.FindTensor("v.patch_embd.weight")!.Type);
        Assert.Equal(GgmlType.F16, clip.FindTensor("mm.input_projection.weight")!.Type);
    }

    [Fact]
    public void Llava_mmproj_is_the_text_model_and_a_clip_file_with_the_mlp_projector()
    {
        var directory = Llava();
        var (textPath, projectorPath) = Convert(directory, "f16", "--mmproj");
        using (var text = GgufFile.Open(textPath))
        {
            Assert.Equal("llama", text.Metadata[GgufKeys.Architecture].AsString());
            Assert.Equal(4u, text.Metadata["llama.attention.head_count"].AsUInt32());
            Assert.Equal(128u, text.Metadata["llama.vocab_size"].AsUInt32());
            Assert.Equal((2 * 9) + 3, text.Tensors.Count);
            AssertTensor(text, "output.weight", GgmlType.F16, 64, 128);
            AssertTensor(text, "blk.1.attn_k.weight", GgmlType.F16, 64, 64);
        }
        using var clip = GgufFile.Open(projectorPath);
        Assert.Equal("clip", clip.Metadata[GgufKeys.Architecture].AsString());
        AssertKeys(clip, "clip.",
            ("clip.has_text_encoder", GgufValueType.Bool, false),
            ("clip.has_vision_encoder", GgufValueType.Bool, true),
            ("clip.has_llava_projector", GgufValueType.Bool, true),
            (GgufKeys.FileType, GgufValueType.UInt32, 1u),
            ("clip.projector_type", GgufValueType.String, "mlp"),
            ("clip.vision.image_size", GgufValueType.UInt32, 28u),
            ("clip.vision.patch_size", GgufValueType.UInt32, 14u),
            ("clip.vision.embedding_length", GgufValueType.UInt32, 32u),
            ("clip.vision.feed_forward_length", GgufValueType.UInt32, 64u),
            ("clip.vision.projection_dim", GgufValueType.UInt32, 48u),
            ("clip.vision.attention.head_count", GgufValueType.UInt32, 2u),
            ("clip.vision.attention.layer_norm_epsilon", GgufValueType.Float32, 1e-5f),
            // vision_feature_layer -2 of 3 layers: the output of block 2, so blocks 0 and 1 are kept.
            ("clip.vision.block_count", GgufValueType.UInt32, 2u),
            ("clip.vision.feature_layer", GgufValueType.Array, new[] { 2 }),
            ("clip.vision.image_mean", GgufValueType.Array, new[] { 0.48145466f, 0.4578275f, 0.40821073f }),
            ("clip.vision.image_std", GgufValueType.Array, new[] { 0.26862954f, 0.26130258f, 0.27577711f }),
            ("clip.use_gelu", GgufValueType.Bool, false));
        Assert.Equal("image encoder for LLaVA", clip.Metadata["general.description"].AsString());
        AssertTensor(clip, "mm.0.weight", GgmlType.F16, 32, 64);
        AssertTensor(clip, "mm.0.bias", GgmlType.F32, 64);
        AssertTensor(clip, "mm.2.weight", GgmlType.F16, 64, 64);
        AssertTensor(clip, "v.class_embd", GgmlType.F32, 32);
        AssertTensor(clip, "v.patch_embd.weight", GgmlType.F16, 14, 14, 3, 32);
        AssertTensor(clip, "v.position_embd.weight", GgmlType.F16, 32, 5);
        AssertTensor(clip, "v.pre_ln.weight", GgmlType.F32, 32);
        AssertTensor(clip, "v.blk.1.attn_out.weight", GgmlType.F16, 32, 32);
        AssertTensor(clip, "v.blk.1.ln2.bias", GgmlType.F32, 32);
        // The legacy naming clip.cpp reads for these files: fc1 is ffn_down, fc2 ffn_up.
        AssertTensor(clip, "v.blk.1.ffn_down.weight", GgmlType.F16, 32, 64);
        AssertTensor(clip, "v.blk.1.ffn_up.weight", GgmlType.F16, 64, 32);
        Assert.Null(clip.FindTensor("v.blk.2.attn_q.weight"));
        Assert.Null(clip.FindTensor("v.post_ln.weight"));
        Assert.Equal(4 + 5 + (2 * 16), clip.Tensors.Count);
        Assert.Equal(Source(directory, "multi_modal_projector.linear_2.bias"), Floats(clip.FindTensor("mm.2.bias")!));
    }

    [Fact]
    public void Llava_f32_mmproj_keeps_the_convolution_and_projector_matrices_in_f16()
    {
        var directory = Llava();
        using var clip = GgufFile.Open(Convert(directory, "f32", "--mmproj").Projector);
        Assert.Equal(0u, clip.Metadata[GgufKeys.FileType].AsUInt32());
        AssertTensor(clip, "v.patch_embd.weight", GgmlType.F16, 14, 14, 3, 32);
        AssertTensor(clip, "mm.0.weight", GgmlType.F16, 32, 64);
        AssertTensor(clip, "v.position_embd.weight", GgmlType.F32, 32, 5);
        var attention = clip.FindTensor("v.blk.0.attn_q.weight")!;
        Assert.Equal(GgmlType.F32, attention.Type);
        Assert.Equal(Source(directory, "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight"), Floats(attention));
    }

    [Fact]
    public void Llava_single_file_holds_the_text_model_and_the_image_tensors_with_llama_vision_keys()
    {
        using var gguf = GgufFile.Open(Convert(Llava(), "bf16").Text);
        Assert.Equal("llama", gguf.Metadata[GgufKeys.Architecture].AsString());
        AssertKeys(gguf, "llama.vision.",
            (GgufKeys.FileType, GgufValueType.UInt32, 32u),
            ("llama.vision.block_count", GgufValueType.UInt32, 2u),
            ("llama.vision.embedding_length", GgufValueType.UInt32, 32u),
            ("llama.vision.feed_forward_length", GgufValueType.UInt32, 64u),
            ("llama.vision.image_size", GgufValueType.UInt32, 28u),
            ("llama.vision.patch_size", GgufValueType.UInt32, 14u),
            ("llama.vision.num_channels", GgufValueType.UInt32, 3u),
            ("llama.vision.attention.head_count", GgufValueType.UInt32, 2u),
            ("llama.vision.attention.layer_norm_epsilon", GgufValueType.Float32, 1e-5f),
            ("llama.vision.projector_type", GgufValueType.String, "mlp"));
        AssertTensor(gguf, "blk.0.attn_q.weight", GgmlType.BF16, 64, 64);
        AssertTensor(gguf, "mm.0.weight", GgmlType.F16, 32, 64);
        AssertTensor(gguf, "v.blk.0.attn_q.weight", GgmlType.F16, 32, 32);
        AssertTensor(gguf, "v.class_embd", GgmlType.F32, 32);
        Assert.Equal((2 * 9) + 3 + 4 + 5 + (2 * 16), gguf.Tensors.Count);
    }

    [Fact]
    public void Unsupported_multimodal_architectures_and_variants_are_refused_by_name()
    {
        var qwen = Path.Combine(_root, "qwen2vl");
        SyntheticCheckpoint.Write(qwen, """{"architectures":["Qwen2VLForConditionalGeneration"],"hidden_size":8}""", [("visual.patch_embed.proj.weight", [4, 8])]);
        var result = CliRunner.Run("convert", qwen, "--type", "f16", "-o", Path.Combine(_root, "q.gguf"));
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("multimodal architecture 'Qwen2VLForConditionalGeneration' is not supported", line, StringComparison.Ordinal);
        Assert.Contains("Gemma3ForConditionalGeneration", line, StringComparison.Ordinal);
        Assert.Contains("LlavaForConditionalGeneration", line, StringComparison.Ordinal);

        var pixtral = Path.Combine(_root, "pixtral");
        SyntheticCheckpoint.Write(pixtral, LlavaConfig.Replace("clip_vision_model", "pixtral", StringComparison.Ordinal), [("multi_modal_projector.linear_1.weight", [4, 8])]);
        result = CliRunner.Run("convert", pixtral, "--type", "f16", "-o", Path.Combine(_root, "p.gguf"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'pixtral' vision tower is not supported", Assert.Single(result.ErrorLines), StringComparison.Ordinal);

        var text = Path.Combine(_root, "text-only");
        SyntheticCheckpoint.Write(text, """
            {"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":32,"rms_norm_eps":1e-5}
            """, SyntheticCheckpoint.Decoder(1, 64, 128, 4, 4, 16, 32, lmHead: false));
        result = CliRunner.Run("convert", text, "--type", "f16", "--mmproj", "-o", Path.Combine(_root, "t.gguf"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("has no vision tower", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_root, "t.gguf")));
    }
}
