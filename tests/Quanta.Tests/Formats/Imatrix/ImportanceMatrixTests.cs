using Quanta.Formats.Gguf;
using Quanta.Formats.Imatrix;
using Xunit;

namespace Quanta.Tests.Formats.Imatrix;

/// <summary>
/// The GGUF imatrix (llama.cpp 2026 tools/imatrix: <c>*.in_sum2</c>, <c>*.counts</c>, <c>imatrix.*</c> keys) and
/// the conversions between it and the legacy file, on matrices llama-imatrix wrote.
/// </summary>
public sealed class ImportanceMatrixTests : IDisposable
{
    readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("quanta-imatrix-");

    string Temp(string name) => Path.Combine(_directory.FullName, name);

    static ImatrixDatFile Dat(string name) => ImatrixDatFile.Read(ImatrixDatFileTests.Fixture(name));

    [Fact]
    public void A_dat_converts_to_gguf_as_llama_imatrix_2026_does_and_back()
    {
        var dat = Dat("llama.c128.out.chunks6.dat");
        var path = Temp("m.gguf");
        ImportanceMatrix.FromDat(dat, 512).WriteGguf(path);

        using (var gguf = GgufFile.Open(path))
        {
            Assert.Equal(["general.type", "imatrix.datasets", "imatrix.chunk_count", "imatrix.chunk_size"], gguf.Metadata.Keys);
            Assert.Equal("imatrix", gguf.Metadata.GetString("general.type"));
            Assert.Equal(["apache2.txt"], gguf.Metadata.GetArray("imatrix.datasets").As<string>());
            Assert.Equal(6u, gguf.Metadata.GetUInt32("imatrix.chunk_count"));
            Assert.Equal(512u, gguf.Metadata.GetUInt32("imatrix.chunk_size"));
            // Per entry, in name order: in_sum2 [columns, 1] then counts [1, 1]; the legacy file has no plain sums.
            Assert.Equal(30, gguf.Tensors.Count);
            Assert.Equal("blk.0.attn_k.weight.in_sum2", gguf.Tensors[0].Name);
            Assert.Equal([256L, 1], gguf.Tensors[0].Shape);
            Assert.Equal("blk.0.attn_k.weight.counts", gguf.Tensors[1].Name);
            Assert.Equal([1L, 1], gguf.Tensors[1].Shape);
            // ncall 6 × 512 (load_imatrix_legacy's guess at the chunk size).
            Assert.Equal(3072f, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(gguf.Tensors[1].Data)[0]);
        }

        var back = ImportanceMatrix.ReadGguf(path).ToDat(out var skipped);
        Assert.Empty(skipped);
        Assert.Equal(dat.LastCall, back.LastCall);
        Assert.Equal(dat.Dataset, back.Dataset);
        var expected = dat.Entries.ToDictionary(e => e.Name);
        Assert.Equal(expected.Count, back.Entries.Count);
        foreach (var entry in back.Entries)
        {
            var original = expected[entry.Name];
            Assert.Equal(original.Calls, entry.Calls);
            // (v·512)/(n·512) is v/n exactly; times n again is v within one rounding.
            for (var i = 0; i < entry.Values.Length; i++)
            {
                Assert.True(Math.Abs(entry.Values[i] - original.Values[i]) <= float.Epsilon + (MathF.BitIncrement(Math.Abs(original.Values[i])) - Math.Abs(original.Values[i])),
                    $"{entry.Name}[{i}]: {entry.Values[i]} vs {original.Values[i]}");
            }
        }
    }

    [Fact]
    public void Gguf_read_then_write_gives_the_same_bytes()
    {
        var first = Temp("a.gguf");
        var matrix = ImportanceMatrix.FromDat(Dat("llama.c128.b32.dat"), 128);
        // An entry with plain sums and per-expert counts, as a MoE weight has in a 2026 file.
        matrix.Add(new ImportanceMatrixEntry("blk.0.ffn_up_exps.weight", [1, 2, 3, 4, 5, 6], [3, 0], [0.5f, -1, 2, 0, 0, 0]));
        matrix.WriteGguf(first);
        var second = Temp("b.gguf");
        var read = ImportanceMatrix.ReadGguf(first);
        Assert.Equal(matrix.Count, read.Count);
        // The legacy file counts calls (16: four batches per chunk), which the conversion takes for chunks, as llama.cpp's does.
        Assert.Equal(16, read.ChunkCount);
        Assert.Equal(128, read.ChunkSize);
        var moe = read.Find("blk.0.ffn_up_exps.weight")!;
        Assert.Equal([3L, 0], moe.Counts);
        Assert.Equal([0.5f, -1, 2, 0, 0, 0], moe.Sums!);
        Assert.True(moe.IsPartial);
        read.WriteGguf(second);
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        // The legacy writer leaves out an entry with an expert that saw no data, as llama-imatrix does.
        var dat = read.ToDat(out var skipped);
        Assert.Equal(["blk.0.ffn_up_exps.weight"], skipped);
        Assert.DoesNotContain(dat.Entries, e => e.Name == "blk.0.ffn_up_exps.weight");
    }

    [Fact]
    public void Merging_weights_by_counts_gives_llama_imatrix_s_merged_file()
    {
        var merged = new ImportanceMatrix(512);
        merged.Merge(ImportanceMatrix.FromDat(Dat("llama.c128.out.chunks6.dat"), 512));
        merged.Merge(ImportanceMatrix.FromDat(Dat("llama.c128.b32.dat"), 512));
        var actual = merged.ToDat(out _);
        var expected = Dat("llama.merged.dat");
        Assert.Equal(expected.Entries.Count, actual.Entries.Count);
        var byName = actual.Entries.ToDictionary(e => e.Name);
        foreach (var entry in expected.Entries)
        {
            Assert.Equal(entry.Calls, byName[entry.Name].Calls);
            Assert.Equal(entry.Values, byName[entry.Name].Values);
        }
        // llama-imatrix 2026 (not the February 2025 build of the fixture, which writes 0 and "") keeps the largest
        // chunk count and the last dataset.
        Assert.Equal(22, actual.LastCall);
        Assert.Equal("apache2.txt", actual.Dataset);
        Assert.Equal(["apache2.txt", "apache2.txt"], merged.Datasets);
    }

    [Fact]
    public void Sums_of_another_size_are_refused_when_merging()
    {
        var a = new ImportanceMatrix(512);
        a.Add(new ImportanceMatrixEntry("blk.0.attn_q.weight", new float[256], [512]));
        var b = new ImportanceMatrix(512);
        b.Add(new ImportanceMatrixEntry("blk.0.attn_q.weight", new float[128], [512]));
        var e = Assert.Throws<ImatrixFormatException>(() => a.Merge(b, "b.gguf"));
        Assert.Equal("b.gguf: mismatched sums size for blk.0.attn_q.weight: 128 != 256", e.Message);
    }

    [Fact]
    public void Load_tells_the_formats_apart()
    {
        var gguf = Temp("x.gguf");
        ImportanceMatrix.FromDat(Dat("llama.c128.b32.dat"), 128).WriteGguf(gguf);
        Assert.True(ImatrixDatFile.IsGguf(gguf));
        Assert.False(ImatrixDatFile.IsGguf(ImatrixDatFileTests.Fixture("llama.c128.b32.dat")));
        Assert.Equal(14, ImportanceMatrix.Load(gguf, 512).Count);
        Assert.Equal(14, ImportanceMatrix.Load(ImatrixDatFileTests.Fixture("llama.c128.b32.dat"), 512).Count);
    }

    public void Dispose() => _directory.Delete(recursive: true);
}
