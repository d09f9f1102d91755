using Quanta.Cli;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Tests.Formats.Gguf;
using Quanta.Tests.Quantization;
using Xunit.Abstractions;

namespace Quanta.Tests.Cli;

public class QuantizeCommandTests(ITestOutputHelper output)
{
    static string Tiny => ExpectedModel.TinyModel;

    static GgmlType TypeOf(string path, string tensor)
    {
        using var file = GgufFile.Open(path);
        return file.FindTensor(tensor)!.Type;
    }

    /// <summary>Asserts a failed run: non-zero exit, one "error:" line on stderr (the last), and nothing left in <paramref name="dir"/> but <paramref name="keep"/>.</summary>
    static void AssertFailsCleanly(CliResult result, TempDirectory dir, params string[] keep)
    {
        Assert.NotEqual(0, result.ExitCode);
        var errors = result.ErrorLines.Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.Single(errors);
        Assert.Equal(errors[0], result.ErrorLines[^1]);
        Assert.Equal(keep.Order(StringComparer.Ordinal), dir.List());
    }

    [Theory]
    [MemberData(nameof(ExpectedModel.Covered), MemberType = typeof(ExpectedModel))]
    public void Quantizes_the_tiny_model_to_llama_quantizes_bytes(string preset)
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("quantize", Tiny, dir.File("out.gguf"), preset);
        Assert.Equal(0, result.ExitCode);
        ExpectedModel.AssertMatches(preset, dir.File("out.gguf"));
    }

    [Fact]
    public void Lists_which_expected_files_are_covered()
    {
        var all = ExpectedModel.AllPresets;
        var covered = ExpectedModel.CoveredPresets;
        output.WriteLine($"expected files: {string.Join(", ", all)}");
        output.WriteLine($"covered now:    {string.Join(", ", covered)}");
        output.WriteLine($"waiting for codecs: {string.Join(", ", all.Except(covered))}");
        Assert.Subset(all.ToHashSet(), covered.ToHashSet());
        // The presets whose codecs exist today must stay covered.
        Assert.Superset(new HashSet<string> { "Q3_K_M", "Q4_0", "Q4_K_M", "Q5_K_S", "Q6_K", "Q8_0" }, covered.ToHashSet());
        Assert.Equal(BlockCodecs.TryGet(GgmlType.IQ4_XS, out _), covered.Contains("IQ4_XS"));
    }

    [Fact]
    public void The_same_bytes_come_out_with_1_and_4_threads()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliRunner.Run("quantize", Tiny, dir.File("one.gguf"), "Q4_K_M", "1").ExitCode);
        Assert.Equal(0, CliRunner.Run("quantize", "--threads", "4", Tiny, dir.File("four.gguf"), "Q4_K_M").ExitCode);
        Assert.Equal(File.ReadAllBytes(dir.File("one.gguf")), File.ReadAllBytes(dir.File("four.gguf")));
    }

    [Fact]
    public void Without_an_output_the_file_is_named_like_llama_quantize_names_it()
    {
        using var dir = new TempDirectory();
        File.Copy(Tiny, dir.File("tiny.gguf"));
        var result = CliRunner.Run("quantize", dir.File("tiny.gguf"), "q8_0");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["ggml-model-Q8_0.gguf", "tiny.gguf"], dir.List());
        Assert.Equal("d/ggml-model-Q4_K.gguf", Quanta.Cli.Commands.QuantizeCommand.DefaultOutput("d/m.gguf", "15", false));
        Assert.Equal("d/ggml-model-Q4_K.gguf", Quanta.Cli.Commands.QuantizeCommand.DefaultOutput("d/m.gguf", "q4_k", false));
        Assert.Equal("ggml-model-Q4_K_M", Quanta.Cli.Commands.QuantizeCommand.DefaultOutput("m.gguf", "Q4_K_M", true));
    }

    [Fact]
    public void Summary_goes_to_stdout_and_one_line_per_tensor_to_stderr()
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("quantize", Tiny, dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Bits per weight:", result.Out, StringComparison.Ordinal);
        Assert.Contains("Output tensor types", result.Out, StringComparison.Ordinal);
        Assert.Contains("MB/s", result.Out, StringComparison.Ordinal);
        Assert.Equal(39, result.ErrorLines.Count(l => l.StartsWith('[')));
        Assert.Contains(result.ErrorLines, l => l.Contains("blk.3.ffn_down.weight", StringComparison.Ordinal) && l.Contains("f16 -> q6_K", StringComparison.Ordinal));
    }

    [Fact]
    public async Task On_a_terminal_a_progress_bar_is_drawn_instead()
    {
        using var dir = new TempDirectory();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await Quanta.Cli.Cli.RunAsync(["quantize", Tiny, dir.File("out.gguf"), "Q8_0"], new CliContext(stdout, stderr, OutIsTerminal: true, ErrorIsTerminal: true));
        Assert.Equal(0, exit);
        Assert.DoesNotContain("[ 1/39]", stderr.ToString(), StringComparison.Ordinal);
        ExpectedModel.AssertMatches("Q8_0", dir.File("out.gguf"));
    }

    [Fact]
    public void Pure_gives_every_quantized_tensor_the_default_type()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliRunner.Run("quantize", "--pure", Tiny, dir.File("out.gguf"), "Q4_K_M").ExitCode);
        using var file = GgufFile.Open(dir.File("out.gguf"));
        Assert.All(file.Tensors.Where(t => t.Shape.Count > 1), t => Assert.Equal(GgmlType.Q4_K, t.Type));
    }

    [Fact]
    public void Output_and_token_embedding_types_are_used_as_given()
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("quantize", "--output-tensor-type", "Q8_0", "--token-embedding-type", "q5_0", Tiny, dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(GgmlType.Q8_0, TypeOf(dir.File("out.gguf"), "output.weight"));
        Assert.Equal(GgmlType.Q5_0, TypeOf(dir.File("out.gguf"), "token_embd.weight"));
    }

    [Fact]
    public void Tensor_type_patterns_apply_from_the_command_line_and_from_a_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("types.txt"), "attn_q=q8_0\n  blk\\.0\\.ffn_up=q5_1 \n");
        var result = CliRunner.Run("quantize", "--tensor-type", "attn_v=q8_0", "--tensor-type-file", dir.File("types.txt"),
            "--tensor-type", "ATTN_K=q5_0", Tiny, dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(0, result.ExitCode);
        var output = dir.File("out.gguf");
        Assert.Equal(GgmlType.Q8_0, TypeOf(output, "blk.3.attn_v.weight"));
        Assert.Equal(GgmlType.Q8_0, TypeOf(output, "blk.1.attn_q.weight"));
        Assert.Equal(GgmlType.Q5_0, TypeOf(output, "blk.1.attn_k.weight"));
        Assert.Equal(GgmlType.Q5_1, TypeOf(output, "blk.0.ffn_up.weight"));
        Assert.Equal(GgmlType.Q4_K, TypeOf(output, "blk.1.ffn_up.weight"));
    }

    [Fact]
    public void Leave_output_tensor_keeps_it_as_it_is()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliRunner.Run("quantize", "--leave-output-tensor", Tiny, dir.File("out.gguf"), "Q4_0").ExitCode);
        Assert.Equal(GgmlType.F16, TypeOf(dir.File("out.gguf"), "output.weight"));
    }

    [Fact]
    public void Requantizing_needs_allow_requantize_and_warns()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliRunner.Run("quantize", Tiny, dir.File("q8.gguf"), "Q8_0").ExitCode);
        AssertFailsCleanly(CliRunner.Run("quantize", dir.File("q8.gguf"), dir.File("q4.gguf"), "Q4_0"), dir, "q8.gguf");

        var result = CliRunner.Run("quantize", "--allow-requantize", dir.File("q8.gguf"), dir.File("q4.gguf"), "Q4_0");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains(result.ErrorLines, l => l.StartsWith("warning: requantizing", StringComparison.Ordinal));
        Assert.Equal(GgmlType.Q4_0, TypeOf(dir.File("q4.gguf"), "blk.0.attn_q.weight"));
    }

    [Fact]
    public void Override_kv_sets_keys_with_llama_quantizes_types()
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("quantize", "--override-kv", "general.name=str:Tiny Q8", "--override-kv", "quanta.count=int:12",
            "--override-kv", "quanta.scale=float:0.25", "--override-kv", "quanta.flag=bool:true", Tiny, dir.File("out.gguf"), "Q8_0");
        Assert.Equal(0, result.ExitCode);
        using var file = GgufFile.Open(dir.File("out.gguf"));
        Assert.Equal("Tiny Q8", file.Metadata.GetString("general.name"));
        Assert.Equal(12u, file.Metadata.GetUInt32("quanta.count"));
        Assert.Equal(0.25f, file.Metadata.GetFloat32("quanta.scale"));
        Assert.True(file.Metadata.GetBool("quanta.flag"));
        Assert.Equal(["general.name", "quanta.count", "quanta.scale", "quanta.flag"], file.Metadata.Keys.TakeLast(4));
    }

    [Fact]
    public void Keep_split_keeps_the_inputs_shards()
    {
        using var dir = new TempDirectory();
        using (var tiny = GgufFile.Open(Tiny))
        {
            GgufSplit.Split(tiny, dir.File("in.gguf"), new GgufSplitOptions { MaxTensorsPerShard = 20 });
        }
        var result = CliRunner.Run("quantize", "--keep-split", dir.File("in-00002-of-00002.gguf"), dir.File("out.gguf"), "Q8_0");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["in-00001-of-00002.gguf", "in-00002-of-00002.gguf", "out-00001-of-00002.gguf", "out-00002-of-00002.gguf"], dir.List());
        using var file = GgufFile.Open(dir.File("out-00002-of-00002.gguf"));
        Assert.Equal(39, file.Tensors.Count);
    }

    [Fact]
    public void Split_max_size_and_tensors_write_a_split_set()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliRunner.Run("quantize", "--split-max-tensors", "20", Tiny, dir.File("a.gguf"), "Q8_0").ExitCode);
        Assert.Equal(0, CliRunner.Run("quantize", "--split-max-size", "1M", Tiny, dir.File("b.gguf"), "Q8_0").ExitCode);
        // Q8_0 tensors of the tiny model: 3.6 MB in shards of at most 1 MB (gguf-split's M is 10^6).
        Assert.Equal(["a-00001-of-00002.gguf", "a-00002-of-00002.gguf", .. Enumerable.Range(1, 5).Select(i => $"b-{i:D5}-of-00005.gguf")], dir.List());
        using var file = GgufFile.Open(dir.File("b-00001-of-00005.gguf"));
        Assert.Equal(39, file.Tensors.Count);
        AssertFailsCleanly(CliRunner.Run("quantize", "--split-max-size", "lots", Tiny, dir.File("c.gguf"), "Q8_0"), dir, [.. dir.List()]);
        AssertFailsCleanly(CliRunner.Run("quantize", "--keep-split", "--split-max-tensors", "3", Tiny, dir.File("c.gguf"), "Q8_0"), dir, [.. dir.List()]);
    }

    [Fact]
    public void Prune_layers_drops_blocks_and_rewrites_the_block_count()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliRunner.Run("quantize", "--prune-layers", "0,2", Tiny, dir.File("out.gguf"), "Q8_0").ExitCode);
        using var file = GgufFile.Open(dir.File("out.gguf"));
        Assert.Equal(2u, file.Metadata.GetUInt32("llama.block_count"));
        Assert.Equal(21, file.Tensors.Count);
        AssertFailsCleanly(CliRunner.Run("quantize", "--prune-layers", "1,a", Tiny, dir.File("x.gguf"), "Q8_0"), dir, "out.gguf");
    }

    [Fact]
    public void Dry_run_prints_the_plan_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        File.Copy(Tiny, dir.File("tiny.gguf"));
        var result = CliRunner.Run("quantize", "--dry-run", dir.File("tiny.gguf"), "Q4_K_M");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("blk.3.ffn_down.weight", result.Out, StringComparison.Ordinal);
        Assert.Contains("Q4_K_M rule for ffn_down", result.Out, StringComparison.Ordinal);
        Assert.Contains("quant size =", result.Out, StringComparison.Ordinal);
        Assert.Equal(["tiny.gguf"], dir.List());
        // A dry run may show a plan that needs an importance matrix; only writing it is refused.
        var imatrix = CliRunner.Run("quantize", "--dry-run", dir.File("tiny.gguf"), dir.File("x.gguf"), "IQ2_XXS");
        Assert.Equal(0, imatrix.ExitCode);
        Assert.Contains("importance matrix", imatrix.Out, StringComparison.Ordinal);
        Assert.Equal(["tiny.gguf"], dir.List());
    }

    [Theory]
    [InlineData("unknown-type", "Q9_Z")]
    [InlineData("bad-regex", "--tensor-type", "attn_(=q8_0", "Q8_0")]
    [InlineData("bad-tensor-type", "--tensor-type", "attn_v=q9", "Q8_0")]
    [InlineData("bad-output-type", "--output-tensor-type", "q9", "Q8_0")]
    [InlineData("missing-type-file", "--tensor-type-file", "missing.txt", "Q8_0")]
    [InlineData("bad-override", "--override-kv", "general.name=str", "Q8_0")]
    [InlineData("imatrix-preset", "IQ2_XXS")]
    [InlineData("imatrix-option", "--imatrix", "m.dat", "Q8_0")]
    [InlineData("bad-threads", "Q8_0", "many")]
    public void Bad_arguments_fail_with_one_line_and_no_file(string what, params string[] args)
    {
        using var dir = new TempDirectory();
        var options = args.TakeWhile(a => a.StartsWith("--", StringComparison.Ordinal) || a.EndsWith(".txt", StringComparison.Ordinal) || a.Contains('=', StringComparison.Ordinal) || a is "q9" or "m.dat").ToArray();
        var rest = args.Skip(options.Length).ToArray();
        string[] command = ["quantize", .. options.Select(o => o.EndsWith(".txt", StringComparison.Ordinal) ? dir.File(o) : o), Tiny, dir.File("out.gguf"), .. rest];
        var result = CliRunner.Run(command);
        output.WriteLine($"{what}: {result.Error.Trim()}");
        AssertFailsCleanly(result, dir);
        Assert.Single(result.ErrorLines);
    }

    [Fact]
    public void A_preset_that_needs_an_importance_matrix_is_refused_without_one_naming_the_tensor()
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("quantize", Tiny, dir.File("out.gguf"), "IQ1_S");
        AssertFailsCleanly(result, dir);
        // llama.cpp's message, for the first tensor (in name order) whose type needs one.
        Assert.StartsWith("error: Missing importance matrix for tensor blk.0.attn_k.weight in a very low-bit quantization (iq1_s); compute one with 'quanta imatrix'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_type_without_a_codec_is_refused_by_name()
    {
        var missing = GgmlTypeInfo.Types.FirstOrDefault(t => t.IsQuantized && !BlockCodecs.TryGet(t.Type, out _)
            && t.Type is not (GgmlType.Q8_1 or GgmlType.Q8_K or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.IQ3_XXS));
        if (missing is null)
        {
            return; // every codec exists: nothing left to refuse
        }
        using var dir = new TempDirectory();
        var result = CliRunner.Run("quantize", "--pure", "--tensor-type", $"attn_q={missing.Name}", Tiny, dir.File("out.gguf"), "Q8_0");
        AssertFailsCleanly(result, dir);
        Assert.Contains($"cannot write {missing.Name}", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_input_and_output_equal_to_input_are_refused()
    {
        using var dir = new TempDirectory();
        AssertFailsCleanly(CliRunner.Run("quantize", dir.File("missing.gguf"), dir.File("out.gguf"), "Q8_0"), dir);
        File.Copy(Tiny, dir.File("tiny.gguf"));
        var before = File.ReadAllBytes(dir.File("tiny.gguf"));
        var result = CliRunner.Run("quantize", dir.File("tiny.gguf"), dir.File("tiny.gguf"), "Q8_0");
        AssertFailsCleanly(result, dir, "tiny.gguf");
        Assert.Contains("same", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(dir.File("tiny.gguf")));
    }

    [Fact]
    public void A_NaN_in_a_tensor_fails_naming_it_and_leaves_no_file()
    {
        using var dir = new TempDirectory();
        TinyModelFiles.WriteWithNaN(dir.File("nan.gguf"), "blk.2.ffn_up.weight", 1000);
        var result = CliRunner.Run("quantize", dir.File("nan.gguf"), dir.File("out.gguf"), "Q4_K_M");
        AssertFailsCleanly(result, dir, "nan.gguf");
        Assert.Contains("blk.2.ffn_up.weight", result.ErrorLines[^1], StringComparison.Ordinal);
        Assert.Contains("NaN", result.ErrorLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Cancellation_exits_130_and_leaves_no_file()
    {
        using var dir = new TempDirectory();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var result = CliRunner.Run(false, cancelled.Token, null, "quantize", Tiny, dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(ExitCodes.Cancelled, result.ExitCode);
        Assert.Empty(dir.List());
    }
}
