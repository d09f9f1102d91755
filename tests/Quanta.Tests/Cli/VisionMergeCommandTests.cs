using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Tests.Cli;

/// <summary>
/// <c>quanta merge TEXT MMPROJ -o ONE</c> and <c>quanta split-vision ONE</c> on a small synthetic llama.cpp-style
/// gemma3 pair (text GGUF + clip mmproj with Google's QAT names, or gguf-py's).
/// </summary>
public sealed class VisionMergeCommandTests : IDisposable
{
    const int Embd = 256, Vocab = 48, VisionEmbd = 32, VisionFf = 64, VisionBlocks = 2;

    readonly TempDirectory _dir = new();

    public VisionMergeCommandTests()
    {
        WriteText(Text);
        WriteMmproj(Mmproj, legacyFfnNames: true);
    }

    public void Dispose() => _dir.Dispose();

    string Text => _dir.File("gemma-3-4b-it-q4_0.gguf");

    string Mmproj => _dir.File("mmproj-model-f16-4B.gguf");

    string One => _dir.File("gemma3-one.gguf");

    static float TokenValue(int i) => MathF.Sin(i * 0.37f) * 0.05f + (i % 7 - 3) * 0.002f;

    static void WriteText(string path, bool withVision = false, int? nanAt = null)
    {
        var metadata = new GgufMetadata
        {
            { "general.architecture", GgufValue.String("gemma3") },
            { "general.type", GgufValue.String("model") },
            { "general.name", GgufValue.String("Gemma 3 4b It Qat Q4_0") },
            { "gemma3.context_length", GgufValue.UInt32(131072) },
            { "gemma3.embedding_length", GgufValue.UInt32(Embd) },
            { "gemma3.block_count", GgufValue.UInt32(1) },
            { "gemma3.feed_forward_length", GgufValue.UInt32(512) },
            { "gemma3.attention.head_count", GgufValue.UInt32(2) },
            { "gemma3.attention.head_count_kv", GgufValue.UInt32(1) },
            { "gemma3.attention.key_length", GgufValue.UInt32(128) },
            { "gemma3.attention.value_length", GgufValue.UInt32(128) },
            { "gemma3.attention.layer_norm_rms_epsilon", GgufValue.Float32(1e-6f) },
            { "gemma3.rope.freq_base", GgufValue.Float32(1e6f) },
            { "gemma3.attention.sliding_window", GgufValue.UInt32(1024) },
            { "tokenizer.ggml.model", GgufValue.String("llama") },
            { "tokenizer.ggml.tokens", GgufValue.Array(GgufArray.Of([.. Enumerable.Range(0, Vocab).Select(i => $"<t{i}>")])) },
            { "tokenizer.ggml.bos_token_id", GgufValue.UInt32(2) },
            { "general.quantization_version", GgufValue.UInt32(2) },
            { "general.file_type", GgufValue.UInt32(2) },
        };
        List<GgufTensorInfo> tensors =
        [
            new("token_embd.weight", [Embd, Vocab], GgmlType.F16),
            new("blk.0.attn_norm.weight", [Embd], GgmlType.F32),
            new("blk.0.attn_q.weight", [Embd, 256], GgmlType.Q4_0),
            new("blk.0.attn_k.weight", [Embd, 128], GgmlType.Q4_0),
            new("blk.0.attn_v.weight", [Embd, 128], GgmlType.Q4_0),
            new("blk.0.attn_output.weight", [256, Embd], GgmlType.Q4_0),
            new("blk.0.attn_q_norm.weight", [128], GgmlType.F32),
            new("blk.0.attn_k_norm.weight", [128], GgmlType.F32),
            new("blk.0.post_attention_norm.weight", [Embd], GgmlType.F32),
            new("blk.0.ffn_norm.weight", [Embd], GgmlType.F32),
            new("blk.0.ffn_gate.weight", [Embd, 512], GgmlType.Q4_0),
            new("blk.0.ffn_up.weight", [Embd, 512], GgmlType.Q4_0),
            new("blk.0.ffn_down.weight", [512, Embd], GgmlType.Q4_0),
            new("blk.0.post_ffw_norm.weight", [Embd], GgmlType.F32),
            new("output_norm.weight", [Embd], GgmlType.F32),
        ];
        if (withVision)
        {
            tensors.Add(new("v.patch_embedding.weight", [14, 14, 3, VisionEmbd], GgmlType.F16));
        }
        Write(path, metadata, tensors, nanAt);
    }

    static void WriteMmproj(string path, bool legacyFfnNames)
    {
        var metadata = new GgufMetadata
        {
            { "general.architecture", GgufValue.String("clip") },
            { "general.file_type", GgufValue.UInt32(1) },
            { "clip.has_text_encoder", GgufValue.Bool(false) },
            { "clip.has_vision_encoder", GgufValue.Bool(true) },
            { "clip.has_llava_projector", GgufValue.Bool(false) },
            { "clip.projector_type", GgufValue.String("gemma3") },
            { "clip.vision.image_size", GgufValue.UInt32(56) },
            { "clip.vision.patch_size", GgufValue.UInt32(14) },
            { "clip.vision.embedding_length", GgufValue.UInt32(VisionEmbd) },
            { "clip.vision.feed_forward_length", GgufValue.UInt32(VisionFf) },
            { "clip.vision.projection_dim", GgufValue.UInt32(Embd) },
            { "clip.vision.block_count", GgufValue.UInt32(VisionBlocks) },
            { "clip.vision.attention.head_count", GgufValue.UInt32(2) },
            { "clip.vision.attention.layer_norm_epsilon", GgufValue.Float32(1e-6f) },
            { "clip.vision.projector.scale_factor", GgufValue.UInt32(2) },
            { "clip.vision.image_mean", GgufValue.Array(GgufArray.Of([0.5f, 0.5f, 0.5f])) },
            { "clip.vision.image_std", GgufValue.Array(GgufArray.Of([0.5f, 0.5f, 0.5f])) },
            { "clip.use_gelu", GgufValue.Bool(true) },
        };
        var (fc1, fc2) = legacyFfnNames ? ("ffn_down", "ffn_up") : ("ffn_up", "ffn_down");
        List<GgufTensorInfo> tensors =
        [
            new("v.patch_embd.weight", [14, 14, 3, VisionEmbd], GgmlType.F16),
            new("v.patch_embd.bias", [VisionEmbd], GgmlType.F32),
            new("v.position_embd.weight", [VisionEmbd, 16], GgmlType.F16),
        ];
        for (var b = 0; b < VisionBlocks; b++)
        {
            foreach (var p in new[] { "attn_q", "attn_k", "attn_v", "attn_out" })
            {
                tensors.Add(new($"v.blk.{b}.{p}.weight", [VisionEmbd, VisionEmbd], GgmlType.F16));
                tensors.Add(new($"v.blk.{b}.{p}.bias", [VisionEmbd], GgmlType.F32));
            }
            foreach (var p in new[] { "ln1", "ln2" })
            {
                tensors.Add(new($"v.blk.{b}.{p}.weight", [VisionEmbd], GgmlType.F32));
                tensors.Add(new($"v.blk.{b}.{p}.bias", [VisionEmbd], GgmlType.F32));
            }
            tensors.Add(new($"v.blk.{b}.{fc1}.weight", [VisionEmbd, VisionFf], GgmlType.F16));
            tensors.Add(new($"v.blk.{b}.{fc1}.bias", [VisionFf], GgmlType.F32));
            tensors.Add(new($"v.blk.{b}.{fc2}.weight", [VisionFf, VisionEmbd], GgmlType.F16));
            tensors.Add(new($"v.blk.{b}.{fc2}.bias", [VisionEmbd], GgmlType.F32));
        }
        tensors.Add(new("v.post_ln.weight", [VisionEmbd], GgmlType.F32));
        tensors.Add(new("v.post_ln.bias", [VisionEmbd], GgmlType.F32));
        tensors.Add(new("mm.input_projection.weight", [Embd, VisionEmbd], GgmlType.F16));
        tensors.Add(new("mm.soft_emb_norm.weight", [VisionEmbd], GgmlType.F32));
        Write(path, metadata, tensors);
    }

    /// <summary>token_embd gets finite F16 values (it may be requantized); every other tensor pseudo-random bytes.</summary>
    static void Write(string path, GgufMetadata metadata, IReadOnlyList<GgufTensorInfo> tensors, int? nanAt = null)
    {
        using var writer = GgufWriter.Create(path, metadata, tensors);
        for (var i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Name == "token_embd.weight")
            {
                var bytes = new byte[tensors[i].ByteSize];
                for (var j = 0; j < tensors[i].ElementCount; j++)
                {
                    BitConverter.TryWriteBytes(bytes.AsSpan(j * 2, 2), j == nanAt ? Half.NaN : (Half)TokenValue(j));
                }
                writer.WriteTensorData(bytes);
            }
            else
            {
                writer.WriteTensorData(Quanta.Tests.Formats.Gguf.GgufTestFiles.Bytes(tensors[i].ByteSize, i + path.Length));
            }
        }
        writer.Commit();
    }

    static CliResult Ok(params string[] args)
    {
        var result = CliRunner.Run(args);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Error}");
        return result;
    }

    static void AssertSame(string expected, string actual)
    {
        using var a = GgufFile.Open(expected);
        using var b = GgufFile.Open(actual);
        Assert.Empty(GgufDiff.Compare(a, b).Select(d => d.ToString()));
    }

    [Fact]
    public void Merge_then_split_gives_back_the_inputs_in_every_key_and_tensor()
    {
        Ok("merge", Text, Mmproj, "-o", One);
        var split = Ok("split-vision", One);
        var textOut = _dir.File("gemma3-one-text.gguf");
        var mmprojOut = _dir.File("mmproj-gemma3-one.gguf");
        Assert.Equal([textOut, mmprojOut], split.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        AssertSame(Text, textOut);
        AssertSame(Mmproj, mmprojOut);
    }

    [Fact]
    public void Merged_file_has_Ollamas_names_and_keys_and_the_bytes_unchanged()
    {
        Ok("merge", Text, Mmproj, "-o", One);
        using var one = GgufFile.Open(One);
        using var text = GgufFile.Open(Text);
        using var mmproj = GgufFile.Open(Mmproj);
        var m = one.Metadata;
        Assert.Equal("gemma3", m.GetString("general.architecture"));
        Assert.Equal((uint)VisionBlocks, m.GetUInt32("gemma3.vision.block_count"));
        Assert.Equal((uint)VisionEmbd, m.GetUInt32("gemma3.vision.embedding_length"));
        Assert.Equal((uint)VisionFf, m.GetUInt32("gemma3.vision.feed_forward_length"));
        Assert.Equal(56u, m.GetUInt32("gemma3.vision.image_size"));
        Assert.Equal(14u, m.GetUInt32("gemma3.vision.patch_size"));
        Assert.Equal(3u, m.GetUInt32("gemma3.vision.num_channels"));
        Assert.Equal(2u, m.GetUInt32("gemma3.vision.attention.head_count"));
        Assert.Equal(1e-6f, m.GetFloat32("gemma3.vision.attention.layer_norm_epsilon"));
        // 56 / 14 = 4 patches a side, pooled by 2: 2 x 2 tokens.
        Assert.Equal(4u, m.GetUInt32("gemma3.mm.tokens_per_image"));
        Assert.DoesNotContain(m.Keys, k => k.StartsWith("clip.", StringComparison.Ordinal));
        // Text keys unchanged and in order, first.
        Assert.Equal(text.Metadata.Keys, m.Keys.Take(text.Metadata.Count));
        foreach (var (key, value) in text.Metadata)
        {
            Assert.Equal(value, m[key]);
        }

        string[] expected =
        [
            "v.patch_embedding.weight", "v.patch_embedding.bias", "v.position_embedding.weight",
            "v.blk.1.attn_q.weight", "v.blk.1.attn_output.bias", "v.blk.0.layer_norm1.weight", "v.blk.0.layer_norm2.bias",
            "v.blk.1.mlp.fc1.weight", "v.blk.1.mlp.fc2.bias", "v.post_layernorm.weight", "v.post_layernorm.bias",
            "mm.mm_input_projection.weight", "mm.mm_soft_emb_norm.weight",
        ];
        foreach (var name in expected)
        {
            Assert.NotNull(one.FindTensor(name));
        }
        Assert.DoesNotContain(one.Tensors, t => t.Name.Contains("ffn_", StringComparison.Ordinal) && t.Name.StartsWith("v.", StringComparison.Ordinal));
        Assert.Equal(text.Tensors.Count + mmproj.Tensors.Count, one.Tensors.Count);
        // fc1 maps the embedding to the feed-forward width: Google's mmproj calls it ffn_down.
        Assert.Equal([VisionEmbd, VisionFf], one.FindTensor("v.blk.0.mlp.fc1.weight")!.Shape);
        Assert.Equal(GgufDiff.Sha256(mmproj.FindTensor("v.blk.0.ffn_down.weight")!), GgufDiff.Sha256(one.FindTensor("v.blk.0.mlp.fc1.weight")!));
        Assert.Equal(GgufDiff.Sha256(mmproj.FindTensor("mm.soft_emb_norm.weight")!), GgufDiff.Sha256(one.FindTensor("mm.mm_soft_emb_norm.weight")!));
        foreach (var tensor in text.Tensors)
        {
            Assert.Equal(GgufDiff.Sha256(tensor), GgufDiff.Sha256(one.FindTensor(tensor.Name)!));
        }
    }

    [Fact]
    public void A_projector_with_gguf_py_ffn_names_merges_to_the_same_file_and_splits_back()
    {
        var modern = _dir.File("mmproj-modern.gguf");
        WriteMmproj(modern, legacyFfnNames: false);
        Ok("merge", Text, modern, "-o", One);
        using (var one = GgufFile.Open(One))
        {
            Assert.Equal([VisionEmbd, VisionFf], one.FindTensor("v.blk.1.mlp.fc1.weight")!.Shape);
            Assert.Equal([VisionFf, VisionEmbd], one.FindTensor("v.blk.1.mlp.fc2.weight")!.Shape);
        }
        Ok("split-vision", One, "-o", _dir.File("t.gguf"), "--mmproj", _dir.File("p.gguf"));
        AssertSame(Text, _dir.File("t.gguf"));
        AssertSame(modern, _dir.File("p.gguf"));
    }

    [Fact]
    public void A_single_file_from_elsewhere_splits_with_rebuilt_clip_keys()
    {
        Ok("merge", Text, Mmproj, "-o", One);
        var ollama = _dir.File("ollama.gguf");
        using (var one = GgufFile.Open(One))
        {
            var metadata = new GgufMetadata(one.Metadata.Where(e => !e.Key.StartsWith("quanta.", StringComparison.Ordinal)));
            using var writer = GgufWriter.Create(ollama, metadata, [.. one.Tensors.Select(t => t.Info)]);
            foreach (var tensor in one.Tensors)
            {
                writer.WriteTensor(tensor);
            }
            writer.Commit();
        }
        Ok("split-vision", ollama);
        AssertSame(Text, _dir.File("ollama-text.gguf"));
        using var original = GgufFile.Open(Mmproj);
        using var rebuilt = GgufFile.Open(_dir.File("mmproj-ollama.gguf"));
        Assert.Empty(GgufDiff.Compare(original, rebuilt).Where(d => d.IsTensor).Select(d => d.ToString()));
        foreach (var key in new[] { "general.architecture", "clip.projector_type", "clip.vision.block_count", "clip.vision.embedding_length", "clip.vision.feed_forward_length",
            "clip.vision.image_size", "clip.vision.patch_size", "clip.vision.projection_dim", "clip.vision.attention.head_count", "clip.vision.projector.scale_factor",
            "clip.vision.attention.layer_norm_epsilon", "clip.vision.image_mean", "clip.vision.image_std", "general.file_type" })
        {
            Assert.Equal(original.Metadata[key], rebuilt.Metadata[key]);
        }
    }

    [Fact]
    public void Token_embedding_type_requantizes_only_token_embd()
    {
        Ok("merge", Text, Mmproj, "-o", One);
        var small = _dir.File("small.gguf");
        Ok("merge", Text, Mmproj, "-o", small, "--token-embedding-type", "q6_k");
        using (var a = GgufFile.Open(One))
        using (var b = GgufFile.Open(small))
        {
            var difference = Assert.Single(GgufDiff.Compare(a, b));
            Assert.Equal("token_embd.weight", difference.Name);
            var tensor = b.FindTensor("token_embd.weight")!;
            Assert.Equal(GgmlType.Q6_K, tensor.Type);
            var values = new float[tensor.Info.ElementCount];
            BlockCodecs.Get(GgmlType.Q6_K).Decode(tensor.Data, values);
            for (var i = 0; i < values.Length; i++)
            {
                Assert.True(Math.Abs(values[i] - (float)(Half)TokenValue(i)) < 2e-3, $"element {i}: {values[i]} vs {TokenValue(i)}");
            }
        }

        // split-vision too: the text file differs from the input only in token_embd.
        Ok("split-vision", One, "-o", _dir.File("t.gguf"), "--mmproj", _dir.File("p.gguf"), "--token-embedding-type", "Q6_K");
        using var text = GgufFile.Open(Text);
        using var split = GgufFile.Open(_dir.File("t.gguf"));
        Assert.Equal("~ tensor token_embd.weight: type f16 -> q6_K", Assert.Single(GgufDiff.Compare(text, split)).ToString());
        AssertSame(Mmproj, _dir.File("p.gguf"));
    }

    string[] Listing() => [.. Directory.EnumerateFileSystemEntries(_dir.Path).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    void Refused(string expected, params string[] args)
    {
        var listing = Listing();
        var result = CliRunner.Run(args);
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Error}");
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Equal(listing, Listing());
    }

    [Fact]
    public void A_NaN_in_token_embd_is_refused_in_one_line_as_quantize_refuses_it()
    {
        // Element 5 * Embd + 7 is row 5, column 7 of token_embd; requantizing it runs the quantization pipeline,
        // whose message this is (an unexpected NonFiniteValueException and exit 1 before).
        var text = _dir.File("nan-text.gguf");
        WriteText(text, nanAt: 5 * Embd + 7);
        const string Expected = "error: tensor 'token_embd.weight' holds NaN (row 5, column 7); NaN and infinity cannot be quantized";
        Refused(Expected, "merge", text, Mmproj, "-o", One, "--token-embedding-type", "q6_k");

        Ok("merge", text, Mmproj, "-o", One);
        Refused(Expected, "split-vision", One, "-o", _dir.File("t.gguf"), "--mmproj", _dir.File("p.gguf"), "--token-embedding-type", "q8_0");

        // quantize says the same of the same tensor.
        var quantized = CliRunner.Run("quantize", text, _dir.File("q.gguf"), "Q8_0", "--allow-requantize", "--tensor-type", "blk=f16", "--threads", "1");
        Assert.Equal(2, quantized.ExitCode);
        Assert.Equal(Expected, quantized.ErrorLines[^1]);
    }

    [Fact]
    public void Bad_inputs_are_refused_in_one_line_and_leave_no_file()
    {
        var llama = _dir.File("llama.gguf");
        File.Copy(CliRunner.TinyModel, llama);
        Refused("general.architecture is 'llama'", "merge", llama, Mmproj, "-o", One);
        Refused("general.architecture is 'gemma3'; expected a clip projector", "merge", Text, Text, "-o", One);
        Refused("general.architecture is 'clip'; expected a gemma3 text model", "merge", Mmproj, Mmproj, "-o", One);
        var fused = _dir.File("fused.gguf");
        WriteText(fused, withVision: true);
        Refused("already has vision tensors (v.patch_embedding.weight)", "merge", fused, Mmproj, "-o", One);
        Refused("file not found", "merge", Text, _dir.File("missing.gguf"), "-o", One);
        Refused("invalid ggml type 'q9'", "merge", Text, Mmproj, "-o", One, "--token-embedding-type", "q9");
        Refused("has no vision tensors", "split-vision", Text);
        Refused("general.architecture is 'llama'", "split-vision", llama);
        Refused("Quanta cannot write iq2_xxs without an importance matrix", "merge", Text, Mmproj, "-o", One, "--token-embedding-type", "iq2_xxs");
    }
}
