using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Tests.Formats.Gguf;

/// <summary>The all-or-nothing commit of several GGUF files (split shards, a model and its projector).</summary>
public sealed class GgufFileSetTests : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    static readonly GgufTensorInfo[] Tensors = [new("a", [64], GgmlType.F32), new("b", [32], GgmlType.F32)];

    static GgufMetadata Metadata(string name) => new() { { "general.name", GgufValue.String(name) } };

    string[] Targets(int count) => [.. Enumerable.Range(1, count).Select(i => _dir.File($"m-{i}.gguf"))];

    static void WriteAll(GgufFileSet set, int index)
    {
        var writer = set.Create(index, Metadata($"file {index}"), Tensors);
        foreach (var tensor in Tensors)
        {
            writer.WriteTensorData(GgufTestFiles.Bytes(tensor.ByteSize, index));
        }
    }

    [Fact]
    public void Nothing_is_renamed_until_every_file_is_complete_then_all_are()
    {
        var targets = Targets(3);
        File.WriteAllText(targets[1], "the old shard");
        using (var set = new GgufFileSet(targets, new GgufWriterOptions { FlushToDisk = false }))
        {
            WriteAll(set, 0);
            set.Finish(0);
            WriteAll(set, 1);
            WriteAll(set, 2);
            Assert.Equal(["m-2.gguf"], _dir.List().Where(n => !n.StartsWith('.')));
            Assert.Equal(3, _dir.List().Count(n => TemporaryFiles.IsTemporary(n)));
            set.Commit();
        }
        Assert.Equal(["m-1.gguf", "m-2.gguf", "m-3.gguf"], _dir.List());
        for (var i = 0; i < 3; i++)
        {
            using var file = GgufFile.Open(targets[i]);
            Assert.Equal($"file {i}", file.Metadata["general.name"].AsString());
        }
    }

    [Fact]
    public void A_set_left_unfinished_deletes_every_temporary_file_and_touches_no_target()
    {
        var targets = Targets(2);
        File.WriteAllText(targets[0], "the old model");
        using (var set = new GgufFileSet(targets, new GgufWriterOptions { FlushToDisk = false }))
        {
            WriteAll(set, 0);
            set.Finish(0);
            set.Create(1, Metadata("half"), Tensors).WriteTensorData(new byte[8]);
        }
        Assert.Equal(["m-1.gguf"], _dir.List());
        Assert.Equal("the old model", File.ReadAllText(targets[0]));
    }

    [Fact]
    public void A_cancellation_after_the_last_byte_still_renames_nothing()
    {
        using var cancellation = new CancellationTokenSource();
        var set = new GgufFileSet(Targets(2), new GgufWriterOptions { FlushToDisk = false, CancellationToken = cancellation.Token });
        using (set)
        {
            WriteAll(set, 0);
            WriteAll(set, 1);
            cancellation.Cancel();
            Assert.Throws<OperationCanceledException>(set.Commit);
        }
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void A_failed_rename_takes_back_the_files_already_renamed()
    {
        var targets = Targets(2);
        using (var set = new GgufFileSet(targets, new GgufWriterOptions { FlushToDisk = false }))
        {
            WriteAll(set, 0);
            WriteAll(set, 1);
            // The second target becomes a non-empty directory after the checks: its rename fails.
            Directory.CreateDirectory(Path.Combine(targets[1], "in-the-way"));
            Assert.ThrowsAny<IOException>(set.Commit);
        }
        Assert.Equal(["m-2.gguf"], _dir.List());
        Assert.True(Directory.Exists(targets[1]));
    }

    [Fact]
    public void Every_target_is_checked_before_any_file_is_created()
    {
        var input = _dir.File("in.gguf");
        File.WriteAllText(input, "input");
        var options = new GgufWriterOptions { ProtectedInputs = [input] };

        Assert.Contains("two outputs are the same file", Assert.Throws<ArgumentException>(() => new GgufFileSet([_dir.File("a.gguf"), _dir.File("b.gguf"), _dir.File("a.gguf")], options)).Message, StringComparison.Ordinal);
        Assert.Contains("it is one of the inputs", Assert.Throws<ArgumentException>(() => new GgufFileSet([_dir.File("a.gguf"), input], options)).Message, StringComparison.Ordinal);
        var missing = Path.Combine(_dir.File("gone"), "b.gguf");
        Assert.Equal($"cannot write '{missing}': the directory '{_dir.File("gone")}' does not exist",
            Assert.Throws<DirectoryNotFoundException>(() => new GgufFileSet([_dir.File("a.gguf"), missing], options)).Message);
        Assert.Equal(["in.gguf"], _dir.List());
    }
}
