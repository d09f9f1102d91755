using Quanta.Formats;
using Quanta.Tests.Formats.Gguf;

namespace Quanta.Tests.Formats;

public sealed class TemporaryFilesTests : IDisposable
{
    const string Hex = "0123456789abcdef";
    const string OllamaDigest = "sha256-6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa";

    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    static readonly DateTime TwoHoursAgo = DateTime.UtcNow.AddHours(-2);

    string Stale(string name)
    {
        var path = _dir.File(name);
        File.WriteAllText(path, "left by a killed process");
        File.SetLastWriteTimeUtc(path, TwoHoursAgo);
        return path;
    }

    [Fact]
    public void A_temporary_name_is_the_target_name_hidden_with_64_random_bits()
    {
        var path = TemporaryFiles.PathFor(_dir.File("model.gguf"));
        Assert.Equal(_dir.Path, Path.GetDirectoryName(path));
        Assert.Matches(@"^\.model\.gguf\.[0-9a-f]{16}\.tmp$", Path.GetFileName(path));
        Assert.NotEqual(path, TemporaryFiles.PathFor(_dir.File("model.gguf")));
        Assert.True(TemporaryFiles.IsTemporary(Path.GetFileName(path)));
    }

    [Theory]
    [InlineData(".q.gguf." + Hex + ".tmp", true)]
    [InlineData("..quanta-blob." + Hex + ".tmp." + Hex + ".tmp", true)]
    // What the store and the GGUF writer named their files before this component: still swept.
    [InlineData("..quanta-" + Hex + ".partial." + Hex + ".tmp", true)]
    [InlineData(".quanta-" + Hex + ".partial", true)]
    // Ollama's downloads (-partial, -partial-N), its blob uploads (os.CreateTemp "sha256-*"), other tools' files.
    [InlineData(OllamaDigest + "-partial", false)]
    [InlineData(OllamaDigest + "-partial-0", false)]
    [InlineData("sha256-1234567890", false)]
    [InlineData(OllamaDigest, false)]
    [InlineData(".DS_Store", false)]
    [InlineData("model.gguf", false)]
    [InlineData("q.gguf." + Hex + ".tmp", false)]
    [InlineData(".q.gguf.tmp", false)]
    [InlineData(".q.gguf.0123456789ABCDEF.tmp", false)]
    [InlineData(".q.gguf.0123456789abcde.tmp", false)]
    [InlineData(".q.gguf." + Hex + ".tmp.swp", false)]
    public void Only_names_of_Quantas_own_shape_are_temporary(string name, bool temporary) =>
        Assert.Equal(temporary, TemporaryFiles.IsTemporary(name));

    [Fact]
    public void A_sweep_removes_stale_temporaries_and_nothing_else()
    {
        var stale = Stale(".q.gguf." + Hex + ".tmp");
        var staleLegacy = Stale(".quanta-" + Hex + ".partial");
        var fresh = _dir.File(".q.gguf.fedcba9876543210.tmp");
        File.WriteAllText(fresh, "a writer at work");
        var others = new[] { OllamaDigest + "-partial", OllamaDigest + "-partial-0", "sha256-1234567890", ".DS_Store", "model.gguf" }.Select(Stale).ToArray();

        var removed = TemporaryFiles.RemoveStale(_dir.Path);

        Assert.Equal(new[] { stale, staleLegacy }.Order(StringComparer.Ordinal), removed.Order(StringComparer.Ordinal));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh));
        Assert.All(others, o => Assert.True(File.Exists(o), o));
    }

    [Fact]
    public void A_sweep_leaves_a_file_another_writer_holds_open_however_old()
    {
        var (path, stream) = TemporaryFiles.Create(_dir.File("model.gguf"), 4096);
        using (stream)
        {
            stream.WriteByte(1);
            stream.Flush();
            // An hour from now, the writer still holding it: too old by its mtime, but locked.
            Assert.Empty(TemporaryFiles.RemoveStale(_dir.Path, DateTime.UtcNow.AddHours(2)));
            Assert.True(File.Exists(path));
        }
        Assert.Equal([path], TemporaryFiles.RemoveStale(_dir.Path, DateTime.UtcNow.AddHours(2)));
    }

    [Fact]
    public void Creating_a_temporary_file_sweeps_its_directory_first()
    {
        var stale = Stale(".other.gguf." + Hex + ".tmp");
        var (path, stream) = TemporaryFiles.Create(_dir.File("model.gguf"), 4096);
        stream.Dispose();
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void A_missing_directory_is_named_not_the_temporary_file()
    {
        var target = Path.Combine(_dir.File("no-such-dir"), "model.gguf");
        var e = Assert.Throws<DirectoryNotFoundException>(() => TemporaryFiles.Create(target, 4096));
        Assert.Equal($"cannot write '{target}': the directory '{_dir.File("no-such-dir")}' does not exist", e.Message);
    }
}
