using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;
using Quanta.Tests.Formats.Gguf;

namespace Quanta.Tests.Quantization;

public class QuantizerTests
{
    static readonly GgufWriterOptions NoFsync = new() { FlushToDisk = false };

    static QuantizationResult Quantize(string input, string output, string preset, QuantizationOptions? options = null, QuantizerOptions? run = null, IProgress<QuantizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var file = GgufFile.Open(input);
        var job = QuantizationJob.Create(file, QuantizationPresets.Parse(preset), output, options, (run ?? QuantizerOptions.Default) with { Writer = NoFsync });
        return Quantizer.Run(job, progress, cancellationToken);
    }

    [Theory]
    [MemberData(nameof(ExpectedModel.Covered), MemberType = typeof(ExpectedModel))]
    public void The_tiny_model_quantizes_to_llama_quantizes_bytes(string preset)
    {
        using var dir = new TempDirectory();
        var output = dir.File("out.gguf");
        Quantize(ExpectedModel.TinyModel, output, preset, run: new QuantizerOptions { Threads = 2 });
        ExpectedModel.AssertMatches(preset, output);
    }

    [Fact]
    public void The_bytes_do_not_depend_on_threads_or_chunk_size()
    {
        using var dir = new TempDirectory();
        Quantize(ExpectedModel.TinyModel, dir.File("1.gguf"), "Q4_K_M", run: new QuantizerOptions { Threads = 1 });
        Quantize(ExpectedModel.TinyModel, dir.File("4.gguf"), "Q4_K_M", run: new QuantizerOptions { Threads = 4 });
        Quantize(ExpectedModel.TinyModel, dir.File("small.gguf"), "Q4_K_M", run: new QuantizerOptions { Threads = 3, ChunkElements = QuantizerOptions.MinChunkElements });
        var one = File.ReadAllBytes(dir.File("1.gguf"));
        Assert.Equal(one, File.ReadAllBytes(dir.File("4.gguf")));
        Assert.Equal(one, File.ReadAllBytes(dir.File("small.gguf")));
    }

    [Fact]
    public void Metadata_follows_llama_quantize_input_keys_then_version_and_file_type_then_overrides()
    {
        using var dir = new TempDirectory();
        var output = dir.File("out.gguf");
        var overrides = new[] { MetadataOverride.Parse("general.name=str:renamed"), MetadataOverride.Parse("quanta.test=int:-7") };
        Quantize(ExpectedModel.TinyModel, output, "Q8_0", run: new QuantizerOptions { MetadataOverrides = overrides });

        using var input = GgufFile.Open(ExpectedModel.TinyModel);
        using var result = GgufFile.Open(output);
        string[] moved = [GgufKeys.QuantizationVersion, GgufKeys.FileType, "general.name", "quanta.test"];
        var expected = input.Metadata.Keys.Where(k => !moved.Contains(k)).Concat(moved).ToArray();
        Assert.Equal(expected, result.Metadata.Keys);
        Assert.Equal(2u, result.Metadata.GetUInt32(GgufKeys.QuantizationVersion));
        Assert.Equal(7u, result.Metadata.GetUInt32(GgufKeys.FileType));
        Assert.Equal("renamed", result.Metadata.GetString("general.name"));
        Assert.Equal(7u, result.Metadata.GetUInt32("quanta.test"));
        // Every other value is copied unchanged.
        foreach (var key in input.Metadata.Keys.Where(k => !moved.Contains(k)))
        {
            Assert.Equal(input.Metadata[key], result.Metadata[key]);
        }
    }

    [Fact]
    public void A_NaN_names_the_tensor_and_leaves_no_file()
    {
        using var dir = new TempDirectory();
        var input = dir.File("nan.gguf");
        TinyModelFiles.WriteWithNaN(input, "blk.1.attn_q.weight", 256 * 3 + 5);
        var e = Assert.Throws<QuantizationException>(() => Quantize(input, dir.File("out.gguf"), "Q4_0", run: new QuantizerOptions { Threads = 2 }));
        Assert.Contains("blk.1.attn_q.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("NaN", e.Message, StringComparison.Ordinal);
        Assert.Contains("row 3", e.Message, StringComparison.Ordinal);
        Assert.Equal(["nan.gguf"], dir.List());
    }

    [Fact]
    public void Cancelling_mid_run_removes_the_temporary_file()
    {
        using var dir = new TempDirectory();
        using var cancellation = new CancellationTokenSource();
        var reports = 0;
        var progress = new SynchronousProgress(p =>
        {
            if (++reports == 5)
            {
                cancellation.Cancel();
            }
        });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Quantize(ExpectedModel.TinyModel, dir.File("out.gguf"), "Q4_K_M", progress: progress, cancellationToken: cancellation.Token));
        Assert.Empty(dir.List());
    }

    [Fact]
    public void Progress_reports_every_tensor_in_order_and_every_byte()
    {
        using var dir = new TempDirectory();
        var reports = new List<QuantizationProgress>();
        var result = Quantize(ExpectedModel.TinyModel, dir.File("out.gguf"), "Q6_K", progress: new SynchronousProgress(reports.Add));
        var completed = reports.Where(r => r.TensorCompleted).ToArray();
        Assert.Equal(result.Plan.Entries.Select(e => e.Name), completed.Select(r => r.Entry.Name));
        Assert.Equal(Enumerable.Range(1, completed.Length), completed.Select(r => r.TensorNumber));
        Assert.Equal(result.SourceBytes, reports[^1].SourceBytesDone);
        Assert.Equal(result.TargetBytes, reports[^1].BytesWritten);
    }

    [Fact]
    public void Requantizing_is_refused_unless_allowed_and_then_decodes_the_source()
    {
        using var dir = new TempDirectory();
        Quantize(ExpectedModel.TinyModel, dir.File("q8.gguf"), "Q8_0");
        var e = Assert.Throws<QuantizationException>(() => Quantize(dir.File("q8.gguf"), dir.File("q4.gguf"), "Q4_0"));
        Assert.Contains("--allow-requantize", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("q4.gguf")));

        var result = Quantize(dir.File("q8.gguf"), dir.File("q4.gguf"), "Q4_0", run: new QuantizerOptions { AllowRequantize = true });
        Assert.Equal(30, result.RequantizedTensors);
        using var file = GgufFile.Open(dir.File("q4.gguf"));
        Assert.Equal(GgmlType.Q4_0, file.FindTensor("blk.0.attn_q.weight")!.Type);
        Assert.Equal(GgmlType.Q6_K, file.FindTensor("output.weight")!.Type);
    }

    [Fact]
    public void A_dry_run_job_plans_without_output_files()
    {
        using var file = GgufFile.Open(ExpectedModel.TinyModel);
        var job = QuantizationJob.Create(file, QuantizationPresets.Parse("IQ2_XXS"), null);
        Assert.Empty(job.Files);
        Assert.True(job.Plan.RequiresImportanceMatrix);
        Assert.Throws<ArgumentException>(() => Quantizer.Run(job));
    }

    [Fact]
    public void Pruning_renumbers_blocks_and_rewrites_the_block_count()
    {
        using var dir = new TempDirectory();
        var output = dir.File("pruned.gguf");
        Quantize(ExpectedModel.TinyModel, output, "Q8_0", run: new QuantizerOptions { PruneLayers = LayerPruning.Parse("1,2") });
        using var result = GgufFile.Open(output);
        Assert.Equal(2u, result.Metadata.GetUInt32("llama.block_count"));
        Assert.Equal("llama.block_count", result.Metadata.Keys.Last());
        Assert.Equal(3 + 2 * 9, result.Tensors.Count);
        Assert.DoesNotContain(result.Tensors, t => t.Name.StartsWith("blk.2.", StringComparison.Ordinal));

        // Old block 3 is the new block 1, with the same bytes (Q8_0 has no per-layer rules).
        var expected = ExpectedModel.Load("Q8_0").Tensors.ToDictionary(t => t.Name);
        foreach (var tensor in ExpectedModel.Describe(result))
        {
            var oldName = tensor.Name.Replace("blk.1.", "blk.3.", StringComparison.Ordinal);
            Assert.Equal(expected[oldName].Sha256, tensor.Sha256);
        }
    }

    [Fact]
    public void Keep_split_writes_the_inputs_shards_with_llama_quantizes_split_keys()
    {
        using var dir = new TempDirectory();
        using (var tiny = GgufFile.Open(ExpectedModel.TinyModel))
        {
            GgufSplit.Split(tiny, dir.File("in.gguf"), new GgufSplitOptions { MaxTensorsPerShard = 16, Writer = NoFsync });
        }
        Quantize(dir.File("in-00001-of-00003.gguf"), dir.File("out.gguf"), "Q4_K_M", new QuantizationOptions { KeepSplit = true });

        using var input = GgufFile.Open(dir.File("in-00001-of-00003.gguf"));
        using var output = GgufFile.Open(dir.File("out-00001-of-00003.gguf"));
        Assert.True(output.IsSplit);
        Assert.Equal(input.Tensors.Select(t => (t.Name, t.ShardIndex)), output.Tensors.Select(t => (t.Name, t.ShardIndex)));
        Assert.Equal([GgufKeys.SplitNumber, GgufKeys.SplitCount, GgufKeys.SplitTensorsCount], output.Metadata.Keys.TakeLast(3));
        AssertDigestsByName("Q4_K_M", output);
    }

    [Fact]
    public void Keep_split_of_a_single_file_still_uses_a_shard_name()
    {
        using var dir = new TempDirectory();
        Quantize(ExpectedModel.TinyModel, dir.File("out.gguf"), "Q8_0", new QuantizationOptions { KeepSplit = true });
        Assert.Equal(["out-00001-of-00001.gguf"], dir.List());
        using var output = GgufFile.Open(dir.File("out-00001-of-00001.gguf"));
        Assert.False(output.Metadata.ContainsKey(GgufKeys.SplitCount));
        AssertDigestsByName("Q8_0", output);
    }

    [Theory]
    [InlineData(10, null, 4)]
    [InlineData(null, 600_000L, 6)]
    public void A_size_or_tensor_limit_writes_a_split_set_like_gguf_split(int? maxTensors, long? maxBytes, int shards)
    {
        using var dir = new TempDirectory();
        var result = Quantize(ExpectedModel.TinyModel, dir.File("out.gguf"), "Q6_K",
            run: new QuantizerOptions { SplitMaxTensors = maxTensors, SplitMaxBytes = maxBytes });
        Assert.Equal(shards, result.OutputPaths.Count);
        using var output = GgufFile.Open(result.OutputPaths[^1]);
        Assert.Equal(shards, output.FilePaths.Count);
        Assert.Equal([GgufKeys.SplitNumber, GgufKeys.SplitTensorsCount, GgufKeys.SplitCount], output.Metadata.Keys.TakeLast(3));
        AssertDigestsByName("Q6_K", output);
        // Merged back, the split set is exactly the single file.
        GgufSplit.Merge(output, dir.File("merged.gguf"), NoFsync);
        Quantize(ExpectedModel.TinyModel, dir.File("single.gguf"), "Q6_K");
        Assert.Equal(File.ReadAllBytes(dir.File("single.gguf")), File.ReadAllBytes(dir.File("merged.gguf")));
    }

    [Fact]
    public void Conflicting_split_options_are_refused()
    {
        using var file = GgufFile.Open(ExpectedModel.TinyModel);
        var preset = QuantizationPresets.Parse("Q8_0");
        Assert.Throws<QuantizationException>(() => QuantizationJob.Create(file, preset, "x.gguf", null, new QuantizerOptions { SplitMaxBytes = 1, SplitMaxTensors = 1 }));
        Assert.Throws<QuantizationException>(() => QuantizationJob.Create(file, preset, "x.gguf", new QuantizationOptions { KeepSplit = true }, new QuantizerOptions { SplitMaxTensors = 1 }));
    }

    static void AssertDigestsByName(string preset, GgufFile output)
    {
        var expected = ExpectedModel.Load(preset).Tensors.ToDictionary(t => t.Name);
        var actual = ExpectedModel.Describe(output);
        Assert.Equal(expected.Count, actual.Count);
        foreach (var tensor in actual)
        {
            Assert.True(expected[tensor.Name].Sha256 == tensor.Sha256, $"{tensor.Name} differs");
        }
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    sealed class SynchronousProgress(Action<QuantizationProgress> report) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value) => report(value);
    }
}
