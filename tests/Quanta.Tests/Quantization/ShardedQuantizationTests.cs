using System.Security.Cryptography;
using System.Text.Json;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;
using Quanta.Tests.Formats.Gguf;

namespace Quanta.Tests.Quantization;

/// <summary>
/// <c>--shards N</c> and <c>--shard I/N</c> in the library: the plan's cut, the set's bytes, its split keys against
/// llama-gguf-split (Fixtures/shard/oracle.json, recorded as its README says) and what one task reads.
/// </summary>
public sealed class ShardedQuantizationTests : IDisposable
{
    static readonly GgufWriterOptions NoFsync = new() { FlushToDisk = false };
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    static QuantizationJob Job(ITensorSource input, string? output, string preset, int shards, int? only = null) =>
        QuantizationJob.Create(input, QuantizationPresets.Parse(preset), output, null,
            new QuantizerOptions { Threads = 2, Shards = shards, OnlyShard = only, Writer = NoFsync });

    static string ShardName(string prefix, int i, int n) => GgufSplitNames.ShardPath(prefix, i, n);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    public void Each_shard_written_alone_is_the_shard_of_the_whole_set(int n)
    {
        using var input = GgufFile.Open(ExpectedModel.TinyModel);
        var all = Quantizer.Run(Job(input, _dir.File("all.gguf"), "Q4_K_M", n));
        Assert.Equal(Enumerable.Range(1, n).Select(i => Path.GetFullPath(ShardName(_dir.File("all"), i, n))), all.OutputPaths);
        for (var i = 1; i <= n; i++)
        {
            var one = Quantizer.Run(Job(input, _dir.File("one.gguf"), "Q4_K_M", n, i));
            Assert.Equal([Path.GetFullPath(ShardName(_dir.File("one"), i, n))], one.OutputPaths);
            Assert.Equal(File.ReadAllBytes(all.OutputPaths[i - 1]), File.ReadAllBytes(one.OutputPaths[0]));
        }
        // Nothing else was written: no shard of another task, no temporary file.
        Assert.Equal(2 * n, _dir.List().Length);
    }

    [Fact]
    public void The_set_reads_back_as_the_single_file_and_llama_gguf_split_merges_it_to_the_oracle_bytes()
    {
        using var input = GgufFile.Open(ExpectedModel.TinyModel);
        Quantizer.Run(QuantizationJob.Create(input, QuantizationPresets.Parse("Q4_K_M"), _dir.File("single.gguf"), null, new QuantizerOptions { Writer = NoFsync }));
        var set = Quantizer.Run(Job(input, _dir.File("part.gguf"), "Q4_K_M", 3));

        using var oracle = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "shard", "oracle.json")));
        var expectedKeys = oracle.RootElement.GetProperty("splitKeys").EnumerateArray().ToArray();
        using var single = GgufFile.Open(_dir.File("single.gguf"));
        for (var i = 0; i < 3; i++)
        {
            using var shard = GgufFile.FromBytes(File.ReadAllBytes(set.OutputPaths[i]), Path.GetFileName(set.OutputPaths[i]));
            var split = shard.Metadata.Keys.Where(k => k.StartsWith("split.", StringComparison.Ordinal))
                .Select(k => (k, shard.Metadata[k])).Select(p => $"{p.k} {Name(p.Item2.Type)} {Number(p.Item2)}");
            var expected = expectedKeys[i].EnumerateArray().Select(e => $"{e[0].GetString()} {e[1].GetString()} {e[2].GetInt32()}");
            Assert.Equal(expected, split);
            // The first shard holds the model's metadata (gguf-split's order: every key, then the split keys).
            Assert.Equal(i == 0 ? [.. single.Metadata.Keys, "split.no", "split.tensors.count", "split.count"] : ["split.no", "split.tensors.count", "split.count"], shard.Metadata.Keys);
        }

        using var opened = GgufFile.Open(set.OutputPaths[1]);
        Assert.True(opened.IsSplit);
        GgufTestFiles.AssertSameTensors(single, opened);

        // What llama-gguf-split --merge writes: the first shard's metadata with split.count set to 0, every tensor.
        var merged = new GgufMetadata(opened.Metadata);
        merged.Set(GgufKeys.SplitCount, GgufValue.UInt16(0));
        using (var writer = GgufWriter.Create(_dir.File("merged.gguf"), merged, [.. opened.Tensors.Select(t => t.Info)], NoFsync))
        {
            foreach (var tensor in opened.Tensors)
            {
                writer.WriteTensor(tensor);
            }
            writer.Commit();
        }
        Assert.Equal(oracle.RootElement.GetProperty("mergeSha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(_dir.File("merged.gguf")))));
    }

    static string Name(GgufValueType type) => type switch
    {
        GgufValueType.UInt16 => "u16",
        GgufValueType.Int32 => "i32",
        _ => type.ToString(),
    };

    static long Number(GgufValue value) => value.Type == GgufValueType.UInt16 ? value.AsUInt16() : value.AsInt32();

    [Fact]
    public void The_cut_is_contiguous_and_minimises_the_largest_shards_cost()
    {
        using var input = GgufFile.Open(ExpectedModel.TinyModel);
        var plan = Job(input, null, "Q4_K_M", 1).Plan;
        var costs = plan.Entries.Select(EncodingCost.Of).ToArray();
        foreach (var n in new[] { 1, 2, 3, 7, 39 })
        {
            var shards = ShardPlan.Create(plan, n);
            Assert.Equal(n, shards.Count);
            Assert.Equal(Enumerable.Range(1, n), shards.Shards.Select(s => s.Number));
            Assert.All(shards.Shards, s => Assert.True(s.EntryCount > 0));
            Assert.Equal(Enumerable.Range(0, plan.Entries.Count), shards.Shards.SelectMany(s => Enumerable.Range(s.FirstEntry, s.EntryCount)));
            Assert.Equal(costs.Sum(), shards.TotalCost);
            Assert.Equal(BestLargestCost(costs, n), shards.MaxCost);
        }
    }

    /// <summary>The smallest possible cost of the largest of <paramref name="n"/> consecutive runs, by dynamic programming.</summary>
    static long BestLargestCost(long[] costs, int n)
    {
        var prefix = new long[costs.Length + 1];
        for (var i = 0; i < costs.Length; i++)
        {
            prefix[i + 1] = prefix[i] + costs[i];
        }
        var best = new long[n + 1, costs.Length + 1];
        for (var j = 1; j <= costs.Length; j++)
        {
            best[1, j] = prefix[j];
        }
        for (var k = 2; k <= n; k++)
        {
            for (var j = k; j <= costs.Length; j++)
            {
                best[k, j] = long.MaxValue;
                for (var cut = k - 1; cut < j; cut++)
                {
                    best[k, j] = Math.Min(best[k, j], Math.Max(best[k - 1, cut], prefix[j] - prefix[cut]));
                }
            }
        }
        return best[n, costs.Length];
    }

    [Fact]
    public void A_k_quant_tensor_costs_more_than_copying_the_same_bytes()
    {
        using var input = GgufFile.Open(ExpectedModel.TinyModel);
        var plan = Job(input, null, "Q4_K_M", 1).Plan;
        var quantized = plan.Entries.First(e => e.TargetType == GgmlType.Q4_K);
        var copied = plan.Entries.First(e => e.IsCopied);
        Assert.True(EncodingCost.Of(quantized) / (double)quantized.SourceBytes > 2 * EncodingCost.Of(copied) / (double)copied.SourceBytes);
    }

    [Fact]
    public void A_task_reads_only_its_own_tensors()
    {
        using var file = GgufFile.Open(ExpectedModel.TinyModel);
        var input = new CountingSource(file);
        var job = Job(input, _dir.File("out.gguf"), "Q4_K_M", 3, 2);
        var shard = job.ShardPlan!.Shards[1];
        Quantizer.Run(job);
        var mine = job.Plan.Entries.Skip(shard.FirstEntry).Take(shard.EntryCount).Select(e => e.Name).ToHashSet();
        Assert.Equal(mine.Order(), input.ReadBytes.Keys.Order());
        Assert.All(input.ReadBytes, r => Assert.Equal(file.Tensors.Single(t => t.Name == r.Key).ByteSize, r.Value));
        Assert.Equal(shard.SourceBytes, input.ReadBytes.Values.Sum());
        Assert.True(shard.SourceBytes < job.Plan.SourceBytes / 2);
    }

    [Theory]
    [InlineData(3, 4, "shard 4 of 3 does not exist")]
    [InlineData(40, null, "40 shards for 39 tensors")]
    [InlineData(0, null, "at least 1")]
    public void Impossible_shards_are_refused_before_anything_is_written(int shards, int? only, string message)
    {
        using var input = GgufFile.Open(ExpectedModel.TinyModel);
        var e = Assert.Throws<QuantizationException>(() => Job(input, _dir.File("x.gguf"), "Q4_K_M", shards, only));
        Assert.Contains(message, e.Message);
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void Shards_do_not_mix_with_gguf_split_limits()
    {
        using var input = GgufFile.Open(ExpectedModel.TinyModel);
        var e = Assert.Throws<QuantizationException>(() => QuantizationJob.Create(input, QuantizationPresets.Parse("Q8_0"), _dir.File("x.gguf"), null,
            new QuantizerOptions { Shards = 2, SplitMaxTensors = 10 }));
        Assert.Contains("--shards", e.Message);
    }

    [Fact]
    public void A_cancelled_task_leaves_no_file_and_its_rerun_writes_the_same_shard()
    {
        using var input = GgufFile.Open(ExpectedModel.TinyModel);
        var expected = Quantizer.Run(Job(input, _dir.File("ref.gguf"), "Q4_K_M", 3, 3)).OutputPaths[0];
        using var cancel = new CancellationTokenSource();
        var progress = new Progress(p =>
        {
            if (p.TensorNumber == 3)
            {
                cancel.Cancel();
            }
        });
        var path = Path.GetFullPath(ShardName(_dir.File("out"), 3, 3));
        Assert.ThrowsAny<OperationCanceledException>(() => Quantizer.Run(Job(input, _dir.File("out.gguf"), "Q4_K_M", 3, 3), progress, cancel.Token));
        Assert.False(File.Exists(path));
        Assert.DoesNotContain(_dir.List(), f => f.StartsWith(".out", StringComparison.Ordinal));

        Quantizer.Run(Job(input, _dir.File("out.gguf"), "Q4_K_M", 3, 3));
        Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(path));
    }

    sealed class Progress(Action<QuantizationProgress> report) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value) => report(value);
    }

    /// <summary>A GGUF file whose tensor reads are counted, by tensor name.</summary>
    sealed class CountingSource : ITensorSource
    {
        readonly GgufFile _file;

        public CountingSource(GgufFile file)
        {
            _file = file;
            Tensors = [.. file.Tensors.Select(t => new Counted(t, ReadBytes))];
        }

        public System.Collections.Concurrent.ConcurrentDictionary<string, long> ReadBytes { get; } = new();

        public GgufMetadata Metadata => _file.Metadata;

        public IReadOnlyList<ISourceTensor> Tensors { get; }

        public IReadOnlyList<string> FilePaths => _file.FilePaths;

        sealed class Counted(ISourceTensor tensor, System.Collections.Concurrent.ConcurrentDictionary<string, long> counts) : ISourceTensor
        {
            public GgufTensorInfo Info => tensor.Info;

            public int ShardIndex => tensor.ShardIndex;

            public long FileOffset => tensor.FileOffset;

            public void Read(long start, Span<byte> destination)
            {
                tensor.Read(start, destination);
                var length = destination.Length;
                counts.AddOrUpdate(tensor.Info.Name, length, (_, n) => n + length);
            }
        }
    }
}
