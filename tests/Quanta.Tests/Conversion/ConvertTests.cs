using System.Runtime.InteropServices;
using Quanta.Conversion;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Conversion;

public sealed class ConvertTests : IDisposable
{
    readonly string _root = Path.Combine(Path.GetTempPath(), "quanta-convert-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    string Golden(string model)
    {
        var directory = Path.Combine(_root, model);
        if (!Directory.Exists(directory))
        {
            TinyCheckpoint.Write(model, directory);
        }
        return directory;
    }

    string Convert(string directory, string type, params string[] extra)
    {
        var output = Path.Combine(_root, $"{Path.GetFileName(directory)}-{type}-{Guid.NewGuid():N}.gguf");
        var result = CliRunner.Run(["convert", directory, "--type", type, "-o", output, .. extra]);
        Assert.True(result.ExitCode == 0, result.Error);
        return output;
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("mistral")]
    [InlineData("gemma")]
    [InlineData("phi3")]
    public void F32_conversion_gives_back_the_checkpoint_after_undoing_the_transforms(string model)
    {
        var directory = Golden(model);
        using var gguf = GgufFile.Open(Convert(directory, "f32"));
        using var converted = ConvertedModel.Open(directory);
        var config = converted.Config;
        var heads = (int)config.RequireInteger("num_attention_heads");
        var kvHeads = (int)(config.Integer("num_key_value_heads") ?? heads);
        var byHfName = TinyCheckpoint.Generate(model).ToDictionary(t => t.Spec.Name);
        var checkedTensors = 0;
        foreach (var tensor in converted.Tensors)
        {
            var source = byHfName[tensor.Source!.Name];
            var actual = MemoryMarshal.Cast<byte, float>(gguf.FindTensor(tensor.Info.Name)!.Data);
            var rows = source.Spec.Shape[0];
            var rowLength = source.Values.Length / rows;
            Assert.Equal(source.Values.Length, actual.Length);
            int? permute = source.Spec.Name.EndsWith("q_proj.weight", StringComparison.Ordinal) ? heads
                : source.Spec.Name.EndsWith("k_proj.weight", StringComparison.Ordinal) ? kvHeads : null;
            if (model == "gemma" || model == "phi3")
            {
                permute = null;
            }
            var addOne = model == "gemma" && source.Spec.Name.EndsWith("norm.weight", StringComparison.Ordinal);
            for (long r = 0; r < rows; r++)
            {
                // Undo the permutation: output row r holds source row PermutedIndex(r).
                var sourceRow = permute is { } h ? ConvertedTensor.PermutedIndex(r, rows, h) : r;
                for (long c = 0; c < rowLength; c++)
                {
                    var expected = BFloat16.ToFloat(source.Values[(sourceRow * rowLength) + c]);
                    if (addOne)
                    {
                        expected += 1f;
                    }
                    Assert.Equal(expected, actual[(int)((r * rowLength) + c)]);
                }
            }
            checkedTensors++;
        }
        Assert.Equal(gguf.Tensors.Count, checkedTensors);
    }

    [Fact]
    public void Permutation_interleaves_each_heads_rotary_halves()
    {
        // 2 heads of 4 rows: [a0 a1 b0 b1] per head becomes [a0 b0 a1 b1].
        long[] expected = [0, 2, 1, 3, 4, 6, 5, 7];
        Assert.Equal(expected, Enumerable.Range(0, 8).Select(r => ConvertedTensor.PermutedIndex(r, 8, 2)));
    }

    [Theory]
    [InlineData("llama", "Q4_K_M")]
    [InlineData("gemma", "Q4_K_M")]
    [InlineData("phi3", "Q5_K_S")]
    [InlineData("mistral", "Q6_K")]
    public void Converting_straight_to_a_preset_equals_converting_then_quantizing(string model, string preset)
    {
        var directory = Golden(model);
        var straight = Convert(directory, preset, "--threads", "3");
        foreach (var first in new[] { "f32", "auto" })
        {
            var intermediate = Convert(directory, first);
            var twoStep = Path.Combine(_root, $"two-step-{first}-{preset}.gguf");
            var result = CliRunner.Run("quantize", intermediate, twoStep, preset, "2");
            Assert.True(result.ExitCode == 0, result.Error);
            Assert.True(File.ReadAllBytes(twoStep).AsSpan().SequenceEqual(File.ReadAllBytes(straight)), $"{model} {first} → {preset}: bytes differ");
        }
    }

    [Fact]
    public void Quantize_options_apply_to_a_one_pass_conversion()
    {
        var directory = Golden("llama");
        var straight = Convert(directory, "Q4_0", "--tensor-type", "attn_v=q8_0", "--output-tensor-type", "q6_k");
        var intermediate = Convert(directory, "f32");
        var twoStep = Path.Combine(_root, "two-step-options.gguf");
        var result = CliRunner.Run("quantize", "--tensor-type", "attn_v=q8_0", "--output-tensor-type", "q6_k", intermediate, twoStep, "Q4_0");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(File.ReadAllBytes(twoStep).AsSpan().SequenceEqual(File.ReadAllBytes(straight)));
        using var gguf = GgufFile.Open(straight);
        Assert.Equal(GgmlType.Q8_0, gguf.FindTensor("blk.0.attn_v.weight")!.Type);
        Assert.Equal(GgmlType.Q6_K, gguf.FindTensor("output.weight")!.Type);
    }

    [Fact]
    public void Output_is_the_same_for_any_thread_count()
    {
        var directory = Golden("gemma");
        var one = Convert(directory, "q8_0", "--threads", "1");
        var many = Convert(directory, "q8_0", "--threads", "5");
        Assert.True(File.ReadAllBytes(one).AsSpan().SequenceEqual(File.ReadAllBytes(many)));
    }

    [Fact]
    public void Auto_is_bf16_for_a_bf16_checkpoint_and_warns_without_tokenizer_files()
    {
        var directory = Path.Combine(_root, "no-tokenizer", "llama");
        TinyCheckpoint.Write("llama", directory, withTokenizer: false);
        var output = Path.Combine(_root, "auto.gguf");
        var result = CliRunner.Run("convert", directory, "-o", output);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("no tokenizer.* keys", result.Error, StringComparison.Ordinal);
        using var gguf = GgufFile.Open(output);
        Assert.False(gguf.Metadata.ContainsKey("tokenizer.ggml.tokens"));
        Assert.Equal(GgmlType.BF16, gguf.FindTensor("token_embd.weight")!.Type);
        Assert.Equal(32u, gguf.Metadata[GgufKeys.FileType].AsUInt32());
    }

    [Fact]
    public void The_tokenizer_is_imported_from_the_checkpoint()
    {
        var output = Path.Combine(_root, "with-tokenizer.gguf");
        var result = CliRunner.Run("convert", Golden("llama"), "--type", "q8_0", "-o", output);
        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("warning", result.Error, StringComparison.Ordinal);
        using var gguf = GgufFile.Open(output);
        Assert.Equal("llama", gguf.Metadata.GetString("tokenizer.ggml.model"));
        Assert.Equal(32000, gguf.Metadata.GetArray("tokenizer.ggml.tokens").Count);
        Assert.Equal(1u, gguf.Metadata.GetUInt32("tokenizer.ggml.bos_token_id"));
    }

    [Fact]
    public void Dry_run_prints_the_plan_and_writes_nothing()
    {
        var directory = Golden("llama");
        var output = Path.Combine(_root, "dry.gguf");
        var result = CliRunner.Run("convert", directory, "--type", "q4_k_m", "-o", output, "--dry-run");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("blk.0.attn_v.weight", result.Out, StringComparison.Ordinal);
        Assert.Contains("preset Q4_K_M", result.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Unsupported_architecture_is_refused_by_name_with_the_supported_list()
    {
        var directory = Path.Combine(_root, "bert");
        SyntheticCheckpoint.Write(directory, """{"architectures":["BertModel"],"hidden_size":8}""", [("embeddings.weight", [4, 8])]);
        var result = CliRunner.Run("convert", directory, "--type", "f16", "-o", Path.Combine(_root, "x.gguf"));
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("'BertModel' is not supported", line, StringComparison.Ordinal);
        Assert.Contains("LlamaForCausalLM", line, StringComparison.Ordinal);
        Assert.Contains("Gemma3ForCausalLM", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_or_missing_files_give_one_line_and_exit_2()
    {
        var output = Path.Combine(_root, "x.gguf");
        void Expect(string contains, params string[] args)
        {
            var result = CliRunner.Run(args);
            Assert.True(result.ExitCode == 2, $"{string.Join(' ', args)}: exit {result.ExitCode}: {result.Error}");
            var line = Assert.Single(result.ErrorLines);
            Assert.StartsWith("error: ", line, StringComparison.Ordinal);
            Assert.Contains(contains, line, StringComparison.Ordinal);
            Assert.False(File.Exists(output));
        }

        Expect("directory not found", "convert", Path.Combine(_root, "nowhere"), "-o", output);

        var empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        Expect("config.json", "convert", empty, "-o", output);

        File.WriteAllText(Path.Combine(empty, "config.json"), """{"architectures":["LlamaForCausalLM"]}""");
        Expect("no model.safetensors", "convert", empty, "-o", output);

        File.WriteAllText(Path.Combine(empty, "config.json"), "{ not json");
        Expect("not valid JSON", "convert", empty, "-o", output);

        var corrupt = Path.Combine(_root, "corrupt");
        TinyCheckpoint.Write("llama", corrupt);
        var weights = Path.Combine(corrupt, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        Expect("past its end", "convert", corrupt, "-o", output);

        Expect("unknown type 'q9_z'", "convert", Golden("llama"), "--type", "q9_z", "-o", output);
        Expect("--pure applies to quantization types", "convert", Golden("llama"), "--type", "f16", "--pure", "-o", output);

        var missingField = Path.Combine(_root, "nofield");
        SyntheticCheckpoint.Write(missingField, """{"architectures":["LlamaForCausalLM"],"num_hidden_layers":1}""", [("model.norm.weight", [8])]);
        Expect("'hidden_size'", "convert", missingField, "--type", "f32", "-o", output);

        var unmappable = Path.Combine(_root, "unmappable");
        File.Copy(Path.Combine(Golden("llama"), "config.json"), Path.Combine(Directory.CreateDirectory(unmappable).FullName, "config.json"));
        TinyCheckpoint.WriteSafetensors(Path.Combine(unmappable, "model.safetensors"), [("model.layers.0.mystery.weight", [2, 2], new ushort[4])]);
        Expect("cannot map tensor 'model.layers.0.mystery.weight'", "convert", unmappable, "--type", "f32", "-o", output);
    }

    [Fact]
    public void Default_output_is_named_after_the_model_in_its_directory()
    {
        var directory = Golden("phi3");
        var result = CliRunner.Run("convert", directory, "--type", "f16");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(File.Exists(Path.Combine(directory, "Phi3-18M-F16.gguf")));
    }

    [Fact]
    public void A_bf16_checkpoint_is_reported_as_bf16_with_its_own_size()
    {
        var directory = Golden("llama");
        long checkpointBytes;
        using (var checkpoint = Quanta.Formats.Safetensors.SafetensorsCheckpoint.Open(directory))
        {
            Assert.All(checkpoint.Tensors, t => Assert.Equal(Quanta.Formats.Safetensors.SafetensorsDType.BF16, t.Type));
            checkpointBytes = checkpoint.Tensors.Sum(t => t.ByteSize);
        }
        var output = Path.Combine(_root, "reported.gguf");
        var result = CliRunner.Run("convert", directory, "--type", "f16", "-o", output);
        Assert.True(result.ExitCode == 0, result.Error);
        var tensorLines = result.ErrorLines.Where(l => l.StartsWith('[')).ToList();
        Assert.NotEmpty(tensorLines);
        // Matrices go bf16 -> f16, norms bf16 -> f32 (the converter keeps 1-D tensors in float32); nothing is "f32 ->" or "copied".
        Assert.All(tensorLines, l => Assert.Matches(@"\sbf16 -> f(16|32)\s", l));
        var size = Assert.Single(result.Out.Split('\n'), l => l.StartsWith("Size:", StringComparison.Ordinal));
        Assert.StartsWith($"Size:             {Quanta.Cli.Rendering.Humanize.Bytes(checkpointBytes)} -> ", size, StringComparison.Ordinal);
        Assert.Contains($"Bits per weight:  16.00 -> ", result.Out, StringComparison.Ordinal);

        var plan = CliRunner.Run("convert", directory, "--type", "q8_0", "--dry-run");
        Assert.True(plan.ExitCode == 0, plan.Error);
        var rows = plan.Out.Split('\n').Where(l => l.Contains("  token_embd.weight  ", StringComparison.Ordinal) || l.Contains("  blk.0.attn_norm.weight  ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Matches(@"\]\s+bf16\s+(q8_0|f32)\s", r));
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"model size = {checkpointBytes / 1024.0 / 1024.0,10:F2} MiB (16.00 BPW)"), plan.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_checkpoint_converts_like_the_demo_model()
    {
        var directory = Path.Combine(_root, "demo-checkpoint");
        var write = CliRunner.Run("demo", "--write-checkpoint", directory, "--layers", "2", "--width", "64", "--ffn", "128", "--heads", "4", "--kv-heads", "2");
        Assert.True(write.ExitCode == 0, write.Error);
        using var gguf = GgufFile.Open(Convert(directory, "f16"));
        Assert.Equal(2 + 1 + (2 * 9), gguf.Tensors.Count);
        Assert.Equal(new long[] { 64, 32 }, gguf.FindTensor("blk.1.attn_k.weight")!.Shape);
        Assert.Equal(GgmlType.F32, gguf.FindTensor("blk.1.ffn_norm.weight")!.Type);
    }

    [Fact]
    public void Tokenizer_keys_from_the_seam_go_before_the_quantization_version()
    {
        var directory = Golden("gemma");
        var source = new FakeTokenizer(32000);
        using var model = ConvertedModel.Open(directory, source);
        var metadata = model.CreateMetadata(1);
        var keys = metadata.Keys.ToList();
        Assert.Equal(GgufKeys.QuantizationVersion, keys[^1]);
        Assert.Equal("tokenizer.ggml.model", keys[^3]);
        Assert.Equal("tokenizer.ggml.tokens", keys[^2]);
        Assert.True(keys.IndexOf("gemma.attention.value_length") < keys.IndexOf("tokenizer.ggml.model"));
        Assert.Equal("gemma", source.Request!.Architecture);
        Assert.Equal("GemmaForCausalLM", source.Request.HfArchitecture);
    }

    internal sealed class FakeTokenizer(int tokens) : ITokenizerKeysSource
    {
        public TokenizerRequest? Request { get; private set; }

        public IReadOnlyList<KeyValuePair<string, GgufValue>>? GetKeys(TokenizerRequest request)
        {
            Request = request;
            return
            [
                new("tokenizer.ggml.model", GgufValue.String("llama")),
                new("tokenizer.ggml.tokens", GgufValue.Array(GgufArray.Of(Enumerable.Range(0, tokens).Select(i => $"t{i}").ToArray()))),
            ];
        }
    }
}
