using Quanta.Formats.Gguf;

namespace Quanta.Tests.Formats.Gguf;

public sealed class GgufSplitReaderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("quanta-split-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Shard(int number, int count) => GgufSplitNames.ShardPath(Path.Combine(_dir, "model"), number, count);

    /// <summary>Writes a 3-shard set as gguf-split does: all keys in shard 1, only split keys later.</summary>
    void WriteSet(int declaredTensors = 4, ushort countInShard3 = 3)
    {
        File.WriteAllBytes(Shard(1, 3), new GgufBytes()
            .Str("general.architecture", "llama")
            .U16("split.no", 0).U16("split.count", 3).I32("split.tensors.count", declaredTensors)
            .Tensor("a", [8], 0, 32).Tensor("b", [8], 0, 32).Build());
        File.WriteAllBytes(Shard(2, 3), new GgufBytes()
            .U16("split.no", 1).U16("split.count", 3).I32("split.tensors.count", declaredTensors)
            .Tensor("c", [16], 0, 64).Build());
        File.WriteAllBytes(Shard(3, 3), new GgufBytes()
            .U16("split.no", 2).U16("split.count", countInShard3).I32("split.tensors.count", declaredTensors)
            .Tensor("d", [4], 0, 16).Build());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_split_set_opens_as_one_model_from_any_shard(int opened)
    {
        WriteSet();
        using var file = GgufFile.Open(Shard(opened, 3));
        Assert.True(file.IsSplit);
        Assert.Equal(Shard(1, 3), file.Path);
        Assert.Equal(["a", "b", "c", "d"], file.Tensors.Select(t => t.Name));
        Assert.Equal("llama", file.Metadata.GetString("general.architecture"));
        Assert.Equal([Shard(1, 3), Shard(2, 3), Shard(3, 3)], file.FilePaths);
        Assert.Equal(Shard(2, 3), file.FindTensor("c")!.FilePath);
        // Data comes from the right shard: shard 2's only tensor is its tensor 0, pattern 7 + i.
        Assert.Equal(Enumerable.Range(0, 64).Select(i => (byte)(7 + i)), file.FindTensor("c")!.Data.ToArray());
        Assert.Equal(File.ReadAllBytes(Shard(1, 3)).Length + File.ReadAllBytes(Shard(2, 3)).Length + File.ReadAllBytes(Shard(3, 3)).Length, file.FileSize);
    }

    [Fact]
    public void A_missing_shard_is_a_format_error()
    {
        WriteSet();
        File.Delete(Shard(3, 3));
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(Shard(1, 3)));
        Assert.Contains("model-00003-of-00003.gguf", e.Message);
    }

    [Fact]
    public void Inconsistent_split_keys_are_refused()
    {
        WriteSet(countInShard3: 4);
        Assert.Contains("expected shard 3 of 3", Assert.Throws<GgufFormatException>(() => GgufFile.Open(Shard(1, 3))).Message);
    }

    [Fact]
    public void The_total_tensor_count_is_checked()
    {
        WriteSet(declaredTensors: 5);
        Assert.Contains("holds 4 tensors but split.tensors.count says 5", Assert.Throws<GgufFormatException>(() => GgufFile.Open(Shard(2, 3))).Message);
    }

    [Fact]
    public void A_shard_with_a_renamed_file_is_refused_with_a_reason()
    {
        WriteSet();
        var renamed = Path.Combine(_dir, "renamed.gguf");
        File.Move(Shard(1, 3), renamed);
        Assert.Contains("cannot be found", Assert.Throws<GgufFormatException>(() => GgufFile.Open(renamed)).Message);
    }

    [Fact]
    public void Split_names_follow_llama_cpp()
    {
        Assert.Equal("/m/x-00002-of-00010.gguf", GgufSplitNames.ShardPath("/m/x", 2, 10));
        Assert.True(GgufSplitNames.TryParse("/m/x-00002-of-00010.gguf", out var prefix, out var no, out var count));
        Assert.Equal(("/m/x", 2, 10), (prefix, no, count));
        Assert.False(GgufSplitNames.TryParse("/m/x.gguf", out _, out _, out _));
        Assert.False(GgufSplitNames.TryParse("/m/x-00011-of-00010.gguf", out _, out _, out _));
    }
}
