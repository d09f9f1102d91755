using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Codecs;
using Quanta.Conversion;
using Quanta.Conversion.Gptq;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Safetensors;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Conversion.Gptq;

/// <summary>Tiny Llama GPTQ and AWQ checkpoints, built in code, through <c>quanta convert</c>.</summary>
public sealed class PackedInt4ConvertTests : IDisposable
{
    const int Hidden = 64;
    const int Heads = 4;
    const int KvHeads = 2;
    const int HeadDim = Hidden / Heads;
    const int Intermediate = 128;
    const int Vocab = 32;
    const int GroupSize = 32;

    static readonly (string Module, string Gguf, int Out, int In)[] Linears =
    [
        ("self_attn.q_proj", "attn_q", Heads * HeadDim, Hidden),
        ("self_attn.k_proj", "attn_k", KvHeads * HeadDim, Hidden),
        ("self_attn.v_proj", "attn_v", KvHeads * HeadDim, Hidden),
        ("self_attn.o_proj", "attn_output", Hidden, Heads * HeadDim),
        ("mlp.gate_proj", "ffn_gate", Intermediate, Hidden),
        ("mlp.up_proj", "ffn_up", Intermediate, Hidden),
        ("mlp.down_proj", "ffn_down", Hidden, Intermediate),
    ];

    readonly string _root = Directory.CreateTempSubdirectory("quanta-gptq-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Codes q[i, o], zeros z[g, o] and fp16 scales s[g, o] of one layer, and the matrix W[o, i] they stand for.</summary>
    sealed record Layer(int In, int Out, int[,] Codes, int[,] Zeros, ushort[,] Scales)
    {
        public float Value(int o, int i) => (Codes[i, o] - Zeros[i / GroupSize, o]) * Fp16.ToFloat(Scales[i / GroupSize, o]);
    }

    static Layer MakeLayer(Random random, int inFeatures, int outFeatures, bool symmetric)
    {
        var groups = inFeatures / GroupSize;
        var codes = new int[inFeatures, outFeatures];
        var zeros = new int[groups, outFeatures];
        var scales = new ushort[groups, outFeatures];
        for (var i = 0; i < inFeatures; i++)
        {
            for (var o = 0; o < outFeatures; o++)
            {
                codes[i, o] = random.Next(16);
            }
        }
        for (var g = 0; g < groups; g++)
        {
            for (var o = 0; o < outFeatures; o++)
            {
                zeros[g, o] = symmetric ? 8 : random.Next(1, 16);
                // Few mantissa bits, so that m = -z·s is an fp16 value and Q4_1 is exact.
                scales[g, o] = Fp16.FromFloat(random.Next(1, 64) / 4096f);
            }
        }
        return new Layer(inFeatures, outFeatures, codes, zeros, scales);
    }

    static Action<Stream> Ints(int[] values) => s => s.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    static Action<Stream> Halves(ushort[] values) => s => s.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    static IEnumerable<SafetensorsEntry> Packed(string module, Layer l, bool awq)
    {
        var groups = l.In / GroupSize;
        var scales = new ushort[groups * l.Out];
        var qzeros = new int[groups * (l.Out / 8)];
        int[] awqOrder = [0, 2, 4, 6, 1, 3, 5, 7];
        for (var g = 0; g < groups; g++)
        {
            for (var o = 0; o < l.Out; o++)
            {
                scales[(g * l.Out) + o] = l.Scales[g, o];
            }
            for (var col = 0; col < l.Out / 8; col++)
            {
                for (var slot = 0; slot < 8; slot++)
                {
                    // GPTQ v1 stores zero − 1 in sequential order; AWQ the zero itself in its interleaved order.
                    var o = awq ? (col * 8) + awqOrder[slot] : (col * 8) + slot;
                    qzeros[(g * (l.Out / 8)) + col] |= (awq ? l.Zeros[g, o] : (l.Zeros[g, o] - 1) & 15) << (4 * slot);
                }
            }
        }
        if (awq)
        {
            var qweight = new int[l.In * (l.Out / 8)];
            for (var i = 0; i < l.In; i++)
            {
                for (var col = 0; col < l.Out / 8; col++)
                {
                    for (var slot = 0; slot < 8; slot++)
                    {
                        qweight[(i * (l.Out / 8)) + col] |= l.Codes[i, (col * 8) + awqOrder[slot]] << (4 * slot);
                    }
                }
            }
            yield return new(module + ".qweight", "I32", [l.In, l.Out / 8], Ints(qweight));
        }
        else
        {
            var qweight = new int[l.In / 8 * l.Out];
            for (var i = 0; i < l.In; i++)
            {
                for (var o = 0; o < l.Out; o++)
                {
                    qweight[((i / 8) * l.Out) + o] |= l.Codes[i, o] << (4 * (i % 8));
                }
            }
            yield return new(module + ".qweight", "I32", [l.In / 8, l.Out], Ints(qweight));
            yield return new(module + ".g_idx", "I32", [l.In], Ints([.. Enumerable.Range(0, l.In).Select(i => i / GroupSize)]));
        }
        yield return new(module + ".qzeros", "I32", [groups, l.Out / 8], Ints(qzeros));
        yield return new(module + ".scales", "F16", [groups, l.Out], Halves(scales));
    }

    static SafetensorsEntry Plain(Random random, string name, long[] shape, float offset = 0)
    {
        var values = new ushort[shape.Aggregate(1L, (a, b) => a * b)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Fp16.FromFloat(offset + (float)(random.NextDouble() - 0.5));
        }
        return new(name, "F16", shape, Halves(values));
    }

    /// <summary>Writes the checkpoint and returns its directory and layers by GGUF name.</summary>
    (string Directory, Dictionary<string, Layer> Layers) Write(string method, bool symmetric, int bits = 4)
    {
        var directory = Path.Combine(_root, $"{method}-{(symmetric ? "sym" : "asym")}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var random = new Random(method.Length + (symmetric ? 1 : 0));
        var awq = method == "awq";
        var quantization = awq
            ? new Dictionary<string, object> { ["quant_method"] = "awq", ["bits"] = bits, ["group_size"] = GroupSize, ["zero_point"] = true, ["version"] = "gemm" }
            : new Dictionary<string, object> { ["quant_method"] = "gptq", ["bits"] = bits, ["group_size"] = GroupSize, ["desc_act"] = false, ["sym"] = symmetric, ["checkpoint_format"] = "gptq" };
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "LlamaForCausalLM" },
            ["hidden_size"] = Hidden,
            ["intermediate_size"] = Intermediate,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KvHeads,
            ["num_hidden_layers"] = 1,
            ["max_position_embeddings"] = 256,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["vocab_size"] = Vocab,
            ["torch_dtype"] = "float16",
            ["quantization_config"] = quantization,
        };
        File.WriteAllText(Path.Combine(directory, "config.json"), JsonSerializer.Serialize(config));
        var layers = new Dictionary<string, Layer>(StringComparer.Ordinal);
        var entries = new List<SafetensorsEntry>
        {
            Plain(random, "model.embed_tokens.weight", [Vocab, Hidden]),
            Plain(random, "model.norm.weight", [Hidden], 1),
            Plain(random, "lm_head.weight", [Vocab, Hidden]),
            Plain(random, "model.layers.0.input_layernorm.weight", [Hidden], 1),
            Plain(random, "model.layers.0.post_attention_layernorm.weight", [Hidden], 1),
        };
        foreach (var (module, gguf, outFeatures, inFeatures) in Linears)
        {
            var layer = MakeLayer(random, inFeatures, outFeatures, symmetric);
            layers[$"blk.0.{gguf}.weight"] = layer;
            entries.AddRange(Packed("model.layers.0." + module, layer, awq));
        }
        SafetensorsWriter.Write(Path.Combine(directory, "model.safetensors"), entries);
        return (directory, layers);
    }

    string Convert(string directory, string type, out string error)
    {
        var output = Path.Combine(_root, $"{Path.GetFileName(directory)}-{type}.gguf");
        var result = CliRunner.Run(["convert", directory, "--type", type, "-o", output]);
        Assert.True(result.ExitCode == 0, result.Error);
        error = result.Error;
        return output;
    }

    /// <summary>Output row r of an attn_q / attn_k tensor is source row PermutedIndex(r) (llama's rotary permutation).</summary>
    static int SourceRow(string name, int row, int rows) => name switch
    {
        "blk.0.attn_q.weight" => (int)ConvertedTensor.PermutedIndex(row, rows, Heads),
        "blk.0.attn_k.weight" => (int)ConvertedTensor.PermutedIndex(row, rows, KvHeads),
        _ => row,
    };

    [Theory]
    [InlineData("gptq", true, "q4_0")]
    [InlineData("gptq", false, "q4_1")]
    [InlineData("awq", false, "q4_1")]
    [InlineData("awq", true, "q4_0")]
    public void Maps_losslessly_to_q4_and_decodes_to_the_unpacked_values(string method, bool symmetric, string type)
    {
        var (directory, layers) = Write(method, symmetric);
        using var gguf = GgufFile.Open(Convert(directory, type, out var error));
        Assert.DoesNotContain("requantized", error, StringComparison.Ordinal);
        // Reported as the checkpoint holds it: 4-bit codes with their zeros, scales (and GPTQ's group indices).
        using (var checkpoint = SafetensorsCheckpoint.Open(directory))
        {
            var packedBytes = PackedInt4Checkpoint.PackedSuffixes.Sum(suffix => checkpoint.FindTensor("model.layers.0.self_attn.q_proj" + suffix)?.ByteSize ?? 0);
            var line = Assert.Single(error.Split('\n'), l => l.Contains(" blk.0.attn_q.weight ", StringComparison.Ordinal));
            Assert.Contains($"int4 -> {type} ", line, StringComparison.Ordinal);
            Assert.Contains((packedBytes / 1024.0 / 1024.0).ToString("F3", System.Globalization.CultureInfo.InvariantCulture) + " MiB ->", line, StringComparison.Ordinal);
        }
        var ggmlType = type == "q4_0" ? GgmlType.Q4_0 : GgmlType.Q4_1;
        foreach (var (name, layer) in layers)
        {
            var tensor = gguf.FindTensor(name)!;
            Assert.Equal([(long)layer.In, layer.Out], tensor.Shape);
            Assert.Equal(ggmlType, tensor.Type);
            var decoded = new float[layer.In * layer.Out];
            BlockCodecs.Get(ggmlType).Decode(tensor.Data, decoded);
            for (var r = 0; r < layer.Out; r++)
            {
                var o = SourceRow(name, r, layer.Out);
                for (var i = 0; i < layer.In; i++)
                {
                    Assert.Equal(BitConverter.SingleToUInt32Bits(layer.Value(o, i)), BitConverter.SingleToUInt32Bits(decoded[(r * layer.In) + i]));
                }
            }
        }
    }

    [Theory]
    [InlineData("gptq", "\"intermediate_size\":128", "\"intermediate_size\":96",
        "tensor 'blk.0.ffn_gate.weight' has shape [64, 128], but ", "config.json gives [64 (hidden_size), 96 (intermediate_size)]")]
    [InlineData("awq", "\"num_hidden_layers\":1", "\"num_hidden_layers\":2",
        "config.json: num_hidden_layers is 2, but the checkpoint has 1 layer (no tensor 'blk.1.attn_norm.weight')")]
    [InlineData("gptq", "\"num_key_value_heads\":2", "\"num_key_value_heads\":1",
        "tensor 'blk.0.attn_k.weight' has shape [64, 32], but ", "[64 (hidden_size), 16 (num_key_value_heads 1 x head size 16)]")]
    public void A_config_that_disagrees_with_the_packed_layers_is_refused(string method, string from, string to, params string[] expected)
    {
        var (directory, _) = Write(method, symmetric: true);
        var config = Path.Combine(directory, "config.json");
        var json = File.ReadAllText(config);
        Assert.Contains(from, json, StringComparison.Ordinal);
        File.WriteAllText(config, json.Replace(from, to, StringComparison.Ordinal));
        var output = Path.Combine(_root, "refused.gguf");
        var result = CliRunner.Run(["convert", directory, "--type", "q4_0", "-o", output]);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.All(expected, part => Assert.Contains(part, line, StringComparison.Ordinal));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Create_from_a_packed_checkpoint_whose_config_disagrees_is_refused_and_the_store_unchanged()
    {
        var (directory, _) = Write("gptq", symmetric: true);
        var config = Path.Combine(directory, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"num_hidden_layers\":1", "\"num_hidden_layers\":3", StringComparison.Ordinal));
        var modelfile = Path.Combine(_root, "Modelfile");
        File.WriteAllText(modelfile, $"FROM {directory}\n");
        var store = Path.Combine(_root, "store");

        var result = CliRunner.Run("create", "m", "-f", modelfile, "--quantize", "q4_0", "--store", store);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: (line 1): FROM {directory}: {config}: num_hidden_layers is 3, but the checkpoint has 1 layer (no tensor 'blk.1.attn_norm.weight'); llama.cpp would refuse the file",
            result.ErrorLines[^1]);
        Assert.Equal([".quanta.lock"], Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("gptq")]
    [InlineData("awq")]
    public void F32_holds_the_unpacked_values(string method)
    {
        var (directory, layers) = Write(method, symmetric: false);
        using var gguf = GgufFile.Open(Convert(directory, "f32", out _));
        foreach (var (name, layer) in layers)
        {
            var values = MemoryMarshal.Cast<byte, float>(gguf.FindTensor(name)!.Data);
            for (var r = 0; r < layer.Out; r++)
            {
                var o = SourceRow(name, r, layer.Out);
                for (var i = 0; i < layer.In; i++)
                {
                    Assert.Equal(layer.Value(o, i), values[(r * layer.In) + i]);
                }
            }
        }
    }

    [Theory]
    [InlineData("gptq")]
    [InlineData("awq")]
    public void Q4_K_M_quantizes_through_float32(string method)
    {
        var (directory, _) = Write(method, symmetric: true);
        using var gguf = GgufFile.Open(Convert(directory, "Q4_K_M", out _));
        Assert.Equal(GgmlType.F32, gguf.FindTensor("blk.0.attn_norm.weight")!.Type);
        Assert.Equal((uint)Quanta.Formats.Gguf.LlamaFileType.MostlyQ4_K_M, gguf.Metadata[GgufKeys.FileType].AsUInt32());
        // Rows of 64 are shorter than a K-quant super-block, so the preset's fallbacks (Q5_0 ...) apply.
        Assert.All(LayersOf(gguf), t => Assert.True(GgmlTypeInfo.Of(t.Type).IsQuantized, t.Name));
        Assert.Equal(Linears.Length + 5, gguf.Tensors.Count);
    }

    static IEnumerable<GgufTensor> LayersOf(GgufFile gguf) => Linears.Select(l => gguf.FindTensor($"blk.0.{l.Gguf}.weight")!);

    [Fact]
    public void Asymmetric_layers_asked_for_q4_0_are_requantized_with_a_warning()
    {
        var (directory, _) = Write("gptq", symmetric: false);
        Convert(directory, "q4_0", out var error);
        Assert.Contains("requantized from float32", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_from_the_checkpoint_warns_about_requantized_layers_as_convert_does()
    {
        // Asymmetric zeros have no Q4_0 form, so every one of the seven layers is requantized from float32.
        const string Warning = "warning: 7 GPTQ/AWQ layer(s) cannot map to Q4_0/Q4_1 losslessly and are requantized from float32 (first: '";
        var (directory, _) = Write("gptq", symmetric: false);
        Convert(directory, "q4_0", out var convertError);
        var modelfile = Path.Combine(_root, "Modelfile");
        File.WriteAllText(modelfile, $"FROM {directory}\n");

        var created = CliRunner.Run(["create", "gptq", "-f", modelfile, "--quantize", "q4_0", "--store", Path.Combine(_root, "store")]);

        Assert.True(created.ExitCode == 0, created.Error);
        var convertLine = Assert.Single(convertError.Split('\n'), l => l.StartsWith(Warning, StringComparison.Ordinal));
        Assert.Equal(convertLine, Assert.Single(created.ErrorLines, l => l.StartsWith(Warning, StringComparison.Ordinal)));
    }

    [Fact]
    public void Unsupported_bits_are_refused_by_name()
    {
        var (directory, _) = Write("gptq", symmetric: true, bits: 8);
        var result = CliRunner.Run(["convert", directory, "--type", "q4_0", "-o", Path.Combine(_root, "x.gguf")]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("GPTQ with 8 bits is not supported; only 4-bit", result.Error, StringComparison.Ordinal);
    }
}
