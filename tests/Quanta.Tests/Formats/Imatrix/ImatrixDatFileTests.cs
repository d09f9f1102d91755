using Quanta.Formats.Imatrix;
using Xunit;

namespace Quanta.Tests.Formats.Imatrix;

/// <summary>The legacy imatrix.dat against files llama-imatrix (February 2025) wrote (Fixtures/imatrix).</summary>
public sealed class ImatrixDatFileTests
{
    internal static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "imatrix", name);

    [Fact]
    public void Reads_llama_imatrix_s_file()
    {
        var file = ImatrixDatFile.Read(Fixture("llama.c128.out.chunks6.dat"));
        // Two llama blocks × 7 weights, and output.weight (--process-output).
        Assert.Equal(15, file.Entries.Count);
        Assert.Equal(6, file.LastCall);
        Assert.Equal("apache2.txt", file.Dataset);
        Assert.All(file.Entries, e => Assert.Equal(6, e.Calls));
        var down = Assert.Single(file.Entries, e => e.Name == "blk.1.ffn_down.weight");
        Assert.Equal(512, down.Values.Length);
        Assert.Equal(256, Assert.Single(file.Entries, e => e.Name == "output.weight").Values.Length);
        Assert.All(file.Entries.SelectMany(e => e.Values), v => Assert.True(v > 0 && float.IsFinite(v)));
    }

    [Theory]
    [InlineData("llama.c128.out.chunks6.dat")]
    [InlineData("llama.c128.b32.dat")]
    [InlineData("llama.merged.dat")]
    public void Read_then_write_gives_the_same_bytes(string name)
    {
        var bytes = File.ReadAllBytes(Fixture(name));
        using var stream = new MemoryStream();
        ImatrixDatFile.Read(bytes, name).Write(stream);
        Assert.Equal(bytes, stream.ToArray());
    }

    [Fact]
    public void A_file_without_the_tail_of_older_versions_round_trips()
    {
        var bytes = File.ReadAllBytes(Fixture("llama.c128.b32.dat"));
        // The tail: last call (4 bytes), dataset length (4) and "apache2.txt" (11).
        var old = bytes[..^19];
        var file = ImatrixDatFile.Read(old);
        Assert.Null(file.LastCall);
        Assert.Null(file.Dataset);
        using var stream = new MemoryStream();
        file.Write(stream);
        Assert.Equal(old, stream.ToArray());
    }

    [Fact]
    public void A_truncated_file_names_where_it_ends()
    {
        var bytes = File.ReadAllBytes(Fixture("llama.c128.b32.dat"))[..1000];
        var e = Assert.Throws<ImatrixFormatException>(() => ImatrixDatFile.Read(bytes, "cut.dat"));
        Assert.StartsWith("cut.dat: at byte ", e.Message, StringComparison.Ordinal);
        Assert.Contains("the file ends before", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_matrix_is_llama_quantize_s_no_data()
    {
        var e = Assert.Throws<ImatrixFormatException>(() => ImatrixDatFile.Read(new byte[4], "empty.dat"));
        Assert.Contains("no data", e.Message, StringComparison.Ordinal);
    }
}
