using Quanta.Tests.Cli;

namespace Quanta.Tests.Conversion;

/// <summary>
/// A config.json that disagrees with its tensors is refused before anything is written, with the first mismatch
/// llama.cpp's loader (llama-model.cpp <c>load_tensors</c>: <c>create_tensor</c> per architecture, then "wrong number of
/// tensors") would hit: layer count, hidden size, FFN size, KV heads, a missing tensor. Every architecture
/// <c>convert</c> supports, through <c>convert</c> and through <c>create</c> with <c>FROM ./dir</c>.
/// </summary>
public sealed class CheckpointShapeCheckTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("quanta-shape-check-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    // Every text model: 4 layers, width 64, FFN 128, 4 heads of 16, 2 KV heads, 128 tokens.
    const string Common = "\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":4,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
        + "\"max_position_embeddings\":4096,\"rms_norm_eps\":1e-6,\"vocab_size\":128";

    static readonly Dictionary<string, (string Config, Func<List<(string, long[])>> Tensors)> Models = new()
    {
        ["llama"] = ($$"""{"architectures":["LlamaForCausalLM"],{{Common}}}""", () => Decoder(lmHead: true)),
        ["mistral"] = ($$"""{"architectures":["MistralForCausalLM"],{{Common}},"rope_theta":1000000.0}""", () => Decoder(lmHead: true)),
        ["qwen2"] = ($$"""{"architectures":["Qwen2ForCausalLM"],{{Common}},"tie_word_embeddings":true}""", () => Decoder(qkvBias: true)),
        ["qwen3"] = ($$"""{"architectures":["Qwen3ForCausalLM"],{{Common}},"head_dim":16}""", () => Decoder(lmHead: true, qkNorm: true)),
        ["gemma"] = ($$"""{"architectures":["GemmaForCausalLM"],{{Common}},"head_dim":16}""", () => Decoder()),
        ["gemma2"] = ($$"""{"architectures":["Gemma2ForCausalLM"],{{Common}},"head_dim":16,"attn_logit_softcapping":50.0,"final_logit_softcapping":30.0,"sliding_window":4096}""",
            () => Decoder(sandwich: true)),
        ["gemma3"] = ($$"""{"architectures":["Gemma3ForCausalLM"],{{Common}},"head_dim":16,"sliding_window":512}""", () => Decoder(qkNorm: true, sandwich: true)),
        ["gemma3-multimodal"] = ($$$"""
            {"architectures":["Gemma3ForConditionalGeneration"],"model_type":"gemma3","mm_tokens_per_image":4,
             "text_config":{"model_type":"gemma3_text",{{{Common}}},"head_dim":16,"sliding_window":512},
             "vision_config":{"model_type":"siglip_vision_model","hidden_size":32,"intermediate_size":80,"num_hidden_layers":2,
               "num_attention_heads":2,"image_size":32,"patch_size":8,"num_channels":3,"layer_norm_eps":1e-6,"vision_use_head":false}}
            """, () => [.. Prefixed(Decoder(qkNorm: true, sandwich: true)), .. Vision(clip: false), ("multi_modal_projector.mm_input_projection_weight", [32, 64]),
                ("multi_modal_projector.mm_soft_emb_norm.weight", [32])]),
        ["phi3"] = ($$"""{"architectures":["Phi3ForCausalLM"],{{Common}},"original_max_position_embeddings":4096,"rope_theta":10000.0}""", Phi3),
        ["llava"] = ($$$"""
            {"architectures":["LlavaForConditionalGeneration"],"model_type":"llava","vision_feature_layer":-2,
             "vision_feature_select_strategy":"default","projector_hidden_act":"gelu","image_token_index":32000,
             "text_config":{"model_type":"llama",{{{Common}}}},
             "vision_config":{"model_type":"clip_vision_model","hidden_size":32,"intermediate_size":80,"num_hidden_layers":2,
               "num_attention_heads":2,"image_size":28,"patch_size":14,"projection_dim":48,"layer_norm_eps":1e-5,"hidden_act":"quick_gelu"}}
            """, () => [.. Prefixed(Decoder(lmHead: true)), .. Vision(clip: true), ("multi_modal_projector.linear_1.weight", [64, 32]),
                ("multi_modal_projector.linear_1.bias", [64]), ("multi_modal_projector.linear_2.weight", [64, 64]), ("multi_modal_projector.linear_2.bias", [64])]),
    };

    public static TheoryData<string> Architectures => [.. Models.Keys];

    static List<(string, long[])> Decoder(bool lmHead = false, bool qkvBias = false, bool qkNorm = false, bool sandwich = false) =>
        SyntheticCheckpoint.Decoder(4, 64, 128, 4, 2, 16, 128, lmHead, qkvBias, qkNorm, sandwich);

    static IEnumerable<(string, long[])> Prefixed(List<(string, long[])> tensors) => tensors.Select(t => ("language_model." + t.Item1, t.Item2));

    static List<(string, long[])> Phi3()
    {
        var list = new List<(string, long[])> { ("model.embed_tokens.weight", [128, 64]) };
        for (var i = 0; i < 4; i++)
        {
            var p = $"model.layers.{i}.";
            list.Add((p + "self_attn.qkv_proj.weight", [64 + (2 * 32), 64]));
            list.Add((p + "self_attn.o_proj.weight", [64, 64]));
            list.Add((p + "mlp.gate_up_proj.weight", [2 * 128, 64]));
            list.Add((p + "mlp.down_proj.weight", [64, 128]));
            list.Add((p + "input_layernorm.weight", [64]));
            list.Add((p + "post_attention_layernorm.weight", [64]));
        }
        list.Add(("model.norm.weight", [64]));
        list.Add(("lm_head.weight", [128, 64]));
        return list;
    }

    /// <summary>A 2-layer SigLIP (Gemma 3) or CLIP (LLaVA) tower of width 32 on 32x32 / 28x28 images.</summary>
    static List<(string, long[])> Vision(bool clip)
    {
        const string p = "vision_tower.vision_model.";
        var patch = clip ? 14 : 8;
        var positions = clip ? 5 : 16;
        var list = new List<(string, long[])> { (p + "embeddings.patch_embedding.weight", [32, 3, patch, patch]), (p + "embeddings.position_embedding.weight", [positions, 32]) };
        list.Add(clip ? (p + "embeddings.class_embedding", [32]) : (p + "embeddings.patch_embedding.bias", [32]));
        if (clip)
        {
            list.Add((p + "pre_layrnorm.weight", [32]));
            list.Add((p + "pre_layrnorm.bias", [32]));
        }
        for (var i = 0; i < 2; i++)
        {
            var l = $"{p}encoder.layers.{i}.";
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                list.Add((l + $"self_attn.{proj}.weight", [32, 32]));
                list.Add((l + $"self_attn.{proj}.bias", [32]));
            }
            foreach (var norm in new[] { "layer_norm1", "layer_norm2" })
            {
                list.Add((l + norm + ".weight", [32]));
                list.Add((l + norm + ".bias", [32]));
            }
            list.Add((l + "mlp.fc1.weight", [80, 32]));
            list.Add((l + "mlp.fc1.bias", [80]));
            list.Add((l + "mlp.fc2.weight", [32, 80]));
            list.Add((l + "mlp.fc2.bias", [32]));
        }
        list.Add((p + "post_layernorm.weight", [32]));
        list.Add((p + "post_layernorm.bias", [32]));
        return list;
    }

    /// <summary>
    /// The mutations and the start of the line each must give. The text model's fields come first in every config,
    /// so replacing the first occurrence changes the text model, never the vision tower.
    /// </summary>
    static IEnumerable<(string Case, string From, string To, string? DropTensor, string[] Expected)> Mutations(string arch)
    {
        var ffnFirst = arch == "phi3" ? "'blk.0.ffn_down.weight'" : "'blk.0.ffn_gate.weight'";
        var embedding = arch is "gemma3-multimodal" or "llava" ? "language_model.model.embed_tokens.weight" : "model.embed_tokens.weight";
        yield return ("6 layers declared, 4 present", "\"num_hidden_layers\":4", "\"num_hidden_layers\":6", null,
            ["config.json: num_hidden_layers is 6, but the checkpoint has 4 layers (no tensor 'blk.4.attn_norm.weight'); llama.cpp would refuse the file"]);
        yield return ("2 layers declared, 4 present", "\"num_hidden_layers\":4", "\"num_hidden_layers\":2", null,
            ["config.json: num_hidden_layers is 2, but the checkpoint has 4 layers (tensor 'blk.2."]);
        yield return ("wrong hidden size", "\"hidden_size\":64", "\"hidden_size\":72", null,
            [$"tensor 'token_embd.weight' ({embedding}) has shape [64, 128], but ", "config.json gives [72 (hidden_size), 128 ("]);
        yield return ("wrong intermediate size", "\"intermediate_size\":128", "\"intermediate_size\":160", null,
            [$"tensor {ffnFirst}", "160 (intermediate_size)"]);
        yield return ("wrong KV head count", "\"num_key_value_heads\":2", "\"num_key_value_heads\":1", null,
            arch == "phi3"
                ? ["tensor 'blk.0.attn_qkv.weight'", "has shape [64, 128], but ", "[64 (hidden_size), 96 (hidden_size 64 + 2 x num_key_value_heads 1 x head size 16)]"]
                : ["tensor 'blk.0.attn_k.weight'", "has shape [64, 32], but ", "[64 (hidden_size), 16 (num_key_value_heads 1 x head size 16)]"]);
        yield return ("missing tensor", "", "", arch == "phi3" ? "model.layers.1.mlp.gate_up_proj.weight" : "model.layers.1.mlp.up_proj.weight",
            [$"the checkpoint has no tensor for 'blk.1.ffn_up.weight', which llama.cpp's {GgufArchitecture(arch)} loader requires"]);
    }

    static string GgufArchitecture(string arch) => arch switch
    {
        "mistral" or "llava" => "llama",
        "gemma3-multimodal" => "gemma3",
        _ => arch,
    };

    string WriteCheckpoint(string arch, string name, string from, string to, string? dropTensor)
    {
        var (config, tensors) = Models[arch];
        var at = config.IndexOf(from, StringComparison.Ordinal);
        var mutated = from.Length == 0 ? config : string.Concat(config.AsSpan(0, at), to, config.AsSpan(at + from.Length));
        var directory = Path.Combine(_root, name);
        SyntheticCheckpoint.Write(directory, mutated, tensors().Where(t => dropTensor is null || !t.Item1.EndsWith(dropTensor, StringComparison.Ordinal)));
        return directory;
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Convert_refuses_a_config_that_disagrees_with_the_tensors_and_writes_nothing(string arch)
    {
        var good = WriteCheckpoint(arch, arch + "-good", "", "", null);
        var output = Path.Combine(_root, arch + "-good.gguf");
        var ok = CliRunner.Run("convert", good, "--type", "f16", "-o", output);
        Assert.True(ok.ExitCode == 0, ok.Error);
        Assert.True(File.Exists(output));

        var n = 0;
        foreach (var (label, from, to, drop, expected) in Mutations(arch))
        {
            var directory = WriteCheckpoint(arch, $"{arch}-{n++}", from, to, drop);
            var bad = Path.Combine(_root, $"{arch}-{n}.gguf");
            var result = CliRunner.Run("convert", directory, "--type", "q4_k_m", "-o", bad);
            Assert.True(result.ExitCode == 2, $"{label}: exit {result.ExitCode}: {result.Error}");
            var line = Assert.Single(result.ErrorLines);
            Assert.StartsWith("error: ", line, StringComparison.Ordinal);
            foreach (var part in expected)
            {
                Assert.True(line.Contains(part, StringComparison.Ordinal), $"{label}: '{part}' not in: {line}");
            }
            Assert.False(File.Exists(bad), label);
            Assert.Empty(Directory.EnumerateFiles(_root, "*.tmp", SearchOption.AllDirectories));
        }
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Create_from_the_checkpoint_refuses_it_and_leaves_the_store_as_it_was(string arch)
    {
        var store = Path.Combine(_root, "store");
        var n = 0;
        foreach (var (label, from, to, drop, expected) in Mutations(arch))
        {
            var name = $"{arch}-{n++}";
            WriteCheckpoint(arch, name, from, to, drop);
            var modelfile = Path.Combine(_root, name + ".Modelfile");
            File.WriteAllText(modelfile, $"FROM ./{name}\n");
            var result = CliRunner.Run("create", "m", "-f", modelfile, "--store", store);
            Assert.True(result.ExitCode == 2, $"{label}: exit {result.ExitCode}: {result.Error}");
            var line = result.ErrorLines[^1];
            Assert.StartsWith($"error: (line 1): FROM ./{name}: ", line, StringComparison.Ordinal);
            foreach (var part in expected)
            {
                Assert.True(line.Contains(part, StringComparison.Ordinal), $"{label}: '{part}' not in: {line}");
            }
            // Nothing but the writers' lock file: no blob, no temporary file, no manifest.
            Assert.Equal([".quanta.lock"], Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories).Select(Path.GetFileName));
        }
    }
}
