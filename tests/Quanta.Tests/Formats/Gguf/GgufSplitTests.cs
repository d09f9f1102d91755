using Quanta.Formats;
using Quanta.Formats.Gguf;
using static Quanta.Tests.Formats.Gguf.GgufTestFiles;

namespace Quanta.Tests.Formats.Gguf;

public sealed class GgufSplitTests : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    static long Padded(GgufTensor t) => GgufWriter.Pad(t.ByteSize, 32);

    [Fact]
    public void Split_by_tensor_count_follows_gguf_split()
    {
        using var source = GgufFile.Open(TinyLlama);
        var paths = GgufSplit.Split(source, _dir.File("tiny"), new GgufSplitOptions { MaxTensorsPerShard = 10 });

        // 39 tensors, 10 per shard.
        Assert.Equal(
            ["tiny-00001-of-00004.gguf", "tiny-00002-of-00004.gguf", "tiny-00003-of-00004.gguf", "tiny-00004-of-00004.gguf"],
            paths.Select(Path.GetFileName));
        Assert.Equal(paths.Select(Path.GetFileName), _dir.List());
        var counts = new List<int>();
        for (var i = 0; i < paths.Count; i++)
        {
            using var shard = OpenShardAlone(paths[i]);
            counts.Add(shard.Tensors.Count);
            var m = shard.Metadata;
            var splitKeys = new[] { GgufKeys.SplitNumber, GgufKeys.SplitTensorsCount, GgufKeys.SplitCount };
            // gguf-split: all keys in the first shard, only the split keys later; split.count last (set twice).
            Assert.Equal(i == 0 ? [.. source.Metadata.Keys, .. splitKeys] : splitKeys, m.Keys);
            Assert.Equal(GgufValue.UInt16((ushort)i), m[GgufKeys.SplitNumber]);
            Assert.Equal(GgufValue.UInt16(4), m[GgufKeys.SplitCount]);
            Assert.Equal(GgufValue.Int32(39), m[GgufKeys.SplitTensorsCount]);
            Assert.Equal(0, new FileInfo(paths[i]).Length % 32);
        }
        Assert.Equal([10, 10, 10, 9], counts);
    }

    [Fact]
    public void Split_by_size_closes_a_shard_when_the_next_tensor_would_not_fit()
    {
        const long max = 1_000_000;
        using var source = GgufFile.Open(TinyLlama);
        var paths = GgufSplit.Split(source, _dir.File("tiny.gguf"), new GgufSplitOptions { MaxBytesPerShard = max });

        var shards = paths.Select(OpenShardAlone).ToList();
        try
        {
            Assert.True(shards.Count > 2);
            for (var i = 0; i < shards.Count; i++)
            {
                var bytes = shards[i].Tensors.Sum(Padded);
                Assert.True(bytes <= max || shards[i].Tensors.Count == 1, $"shard {i + 1} holds {bytes} bytes");
                if (i + 1 < shards.Count)
                {
                    // Greedy: the shard closed only because the next tensor would have taken it over the limit.
                    Assert.True(bytes + Padded(shards[i + 1].Tensors[0]) > max);
                }
            }
            Assert.Equal(source.Tensors.Select(t => t.Name), shards.SelectMany(s => s.Tensors).Select(t => t.Name));
        }
        finally
        {
            shards.ForEach(s => s.Dispose());
        }
    }

    [Theory]
    [InlineData(7, null)]
    [InlineData(null, 600_000L)]
    [InlineData(1000, null)]
    public void Any_shard_opens_the_whole_model(int? maxTensors, long? maxBytes)
    {
        using var source = GgufFile.Open(TinyLlama);
        var paths = GgufSplit.Split(source, _dir.File("tiny"), new GgufSplitOptions { MaxTensorsPerShard = maxTensors, MaxBytesPerShard = maxBytes });
        foreach (var path in paths)
        {
            using var split = GgufFile.Open(path);
            Assert.Equal(paths.Count > 1, split.IsSplit);
            Assert.Equal(paths, split.FilePaths);
            AssertSameMetadata(source.Metadata, WithoutSplitKeys(split.Metadata));
            AssertSameTensors(source, split);
        }
    }

    [Fact]
    public void Merge_gives_back_a_plain_copy_byte_for_byte()
    {
        var copy = _dir.File("copy.gguf");
        var merged = _dir.File("merged.gguf");
        using (var source = GgufFile.Open(TinyLlama))
        {
            GgufWriter.CopyFile(source, copy);
            var paths = GgufSplit.Split(source, _dir.File("tiny"), new GgufSplitOptions { MaxBytesPerShard = 500_000 });
            Assert.True(paths.Count > 5);
            using var split = GgufFile.Open(paths[2]);
            GgufSplit.Merge(split, merged);
        }
        Assert.Equal(File.ReadAllBytes(copy), File.ReadAllBytes(merged));
        Assert.Equal(File.ReadAllBytes(TinyLlama), File.ReadAllBytes(merged));
    }

    [Fact]
    public void Copying_a_split_set_merges_it()
    {
        var merged = _dir.File("merged.gguf");
        using (var source = GgufFile.Open(TinyLlama))
        {
            var paths = GgufSplit.Split(source, _dir.File("tiny"));
            // The default is gguf-split's 128 tensors per shard: one shard for 39 tensors.
            Assert.Single(paths);
            Assert.Equal("tiny-00001-of-00001.gguf", Path.GetFileName(paths[0]));
            var paths2 = GgufSplit.Split(source, _dir.File("tiny2"), new GgufSplitOptions { MaxTensorsPerShard = 20 });
            using var split = GgufFile.Open(paths2[1]);
            GgufWriter.CopyFile(split, merged);
        }
        Assert.Equal(File.ReadAllBytes(TinyLlama), File.ReadAllBytes(merged));
    }

    [Fact]
    public void Resplitting_a_split_set_gives_the_same_shards()
    {
        using var source = GgufFile.Open(TinyLlama);
        var first = GgufSplit.Split(source, _dir.File("a"), new GgufSplitOptions { MaxTensorsPerShard = 9 });
        using var split = GgufFile.Open(first[0]);
        var second = GgufSplit.Split(split, _dir.File("b"), new GgufSplitOptions { MaxTensorsPerShard = 9 });
        Assert.Equal(first.Count, second.Count);
        for (var i = 0; i < first.Count; i++)
        {
            Assert.Equal(File.ReadAllBytes(first[i]), File.ReadAllBytes(second[i]));
        }
    }

    [Fact]
    public void No_tensors_in_the_first_shard()
    {
        using var source = GgufFile.Open(TinyLlama);
        var paths = GgufSplit.Split(source, _dir.File("tiny"), new GgufSplitOptions { MaxTensorsPerShard = 20, NoTensorsInFirstShard = true });
        Assert.Equal(3, paths.Count);
        using (var first = OpenShardAlone(paths[0]))
        {
            Assert.Empty(first.Tensors);
        }
        using var split = GgufFile.Open(paths[1]);
        AssertSameTensors(source, split);
    }

    [Fact]
    public void A_tensor_over_the_size_limit_gets_a_shard_of_its_own()
    {
        using var source = GgufFile.Open(TinyLlama);
        var shards = GgufSplit.Plan(source.Tensors, new GgufSplitOptions { MaxBytesPerShard = 1000 });
        // Every tensor is over 1000 bytes, so each is alone, and no shard is empty.
        Assert.Equal(source.Tensors.Count, shards.Count);
        Assert.All(shards, s => Assert.Single(s));
    }

    [Fact]
    public void Split_refuses_to_write_over_its_input()
    {
        using (var source = GgufFile.Open(TinyLlama))
        {
            GgufSplit.Split(source, _dir.File("tiny"), new GgufSplitOptions { MaxTensorsPerShard = 20 });
        }
        var before = _dir.List().Select(n => File.ReadAllBytes(_dir.File(n))).ToList();
        using var split = GgufFile.Open(_dir.File("tiny-00001-of-00002.gguf"));
        Assert.Throws<ArgumentException>(() => GgufSplit.Split(split, _dir.File("tiny"), new GgufSplitOptions { MaxTensorsPerShard = 20 }));
        // Merging onto a shard is refused too.
        Assert.Throws<ArgumentException>(() => GgufSplit.Merge(split, _dir.File("tiny-00002-of-00002.gguf")));
        Assert.Equal(["tiny-00001-of-00002.gguf", "tiny-00002-of-00002.gguf"], _dir.List());
        Assert.Equal(before, _dir.List().Select(n => File.ReadAllBytes(_dir.File(n))));
    }

    [Fact]
    public void A_failure_after_some_shards_are_written_publishes_none()
    {
        // Shard 3 of 4 cannot be created (a directory holds its name), after shards 1 and 2 were written in full.
        Directory.CreateDirectory(_dir.File("tiny-00003-of-00004.gguf"));
        File.WriteAllText(_dir.File("tiny-00001-of-00004.gguf"), "old shard");
        using var source = GgufFile.Open(TinyLlama);

        Assert.Throws<ArgumentException>(() => GgufSplit.Split(source, _dir.File("tiny"), new GgufSplitOptions { MaxTensorsPerShard = 10 }));

        Assert.Equal(["tiny-00001-of-00004.gguf", "tiny-00003-of-00004.gguf"], _dir.List());
        Assert.Equal("old shard", File.ReadAllText(_dir.File("tiny-00001-of-00004.gguf")));
    }

    [Fact]
    public void Cancellation_during_a_split_leaves_nothing()
    {
        using var source = GgufFile.Open(TinyLlama);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => GgufSplit.Split(source, _dir.File("tiny"),
            new GgufSplitOptions { MaxTensorsPerShard = 10, Writer = new GgufWriterOptions { CancellationToken = cts.Token } }));
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void Both_limits_at_once_are_refused()
    {
        using var source = GgufFile.Open(TinyLlama);
        Assert.Throws<ArgumentException>(() => GgufSplit.Split(source, _dir.File("tiny"), new GgufSplitOptions { MaxTensorsPerShard = 10, MaxBytesPerShard = 1_000_000 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => GgufSplit.Split(source, _dir.File("tiny"), new GgufSplitOptions { MaxTensorsPerShard = 0 }));
        Assert.Empty(_dir.List());
    }

    /// <summary>A shard read on its own, from its bytes, so that its split keys do not pull in the rest of the set.</summary>
    static GgufFile OpenShardAlone(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return GgufFile.FromBytes(bytes, Path.GetFileName(path));
    }
}
