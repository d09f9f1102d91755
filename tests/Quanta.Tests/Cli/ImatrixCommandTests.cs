using System.Globalization;
using System.Text.RegularExpressions;
using Quanta.Formats.Gguf;
using Quanta.Formats.Imatrix;
using Quanta.Tests.Formats.Imatrix;
using Quanta.Tests.Inference.Models;
using Xunit;

namespace Quanta.Tests.Cli;

/// <summary>
/// `quanta imatrix` against llama-imatrix (February 2025) on the golden llama checkpoint and apache2.txt
/// (Fixtures/imatrix): every entry's values within 1e-3 relative, the same call counts, the same running
/// perplexity; the GGUF output holding the same statistics; merging as llama-imatrix merges.
/// </summary>
public sealed partial class ImatrixCommandTests(GoldenModelFiles files) : IClassFixture<GoldenModelFiles>, IDisposable
{
    readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("quanta-imatrix-cli-");

    static string Text => Path.Combine(AppContext.BaseDirectory, "Fixtures", "runtime", "apache2.txt");

    string Temp(string name) => Path.Combine(_directory.FullName, name);

    [Fact]
    public void Matrix_and_perplexity_match_llama_imatrix()
    {
        var output = Temp("m.dat");
        var run = CliRunner.Run("imatrix", "-m", files.Path("llama", "f32"), "-f", Text, "-o", output, "--output-format", "dat",
            "-c", "128", "--chunks", "6", "-t", "2", "--process-output");
        Assert.True(run.ExitCode == 0, run.Error);
        var actual = ImatrixDatFile.Read(output);
        AssertMatches(ImatrixDatFileTests.Fixture("llama.c128.out.chunks6.dat"), actual);
        Assert.Equal(6, actual.LastCall);
        Assert.Equal(Text, actual.Dataset);

        var golden = File.ReadAllText(ImatrixDatFileTests.Fixture("llama.c128.out.chunks6.perplexity.txt"));
        var expected = Running().Matches(golden).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        var printed = Running().Matches(run.Out).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(6, expected.Length);
        Assert.Equal(expected.Length, printed.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(printed[i] - expected[i]) <= 1e-4 * expected[i], $"chunk {i + 1}: {printed[i]} vs {expected[i]}");
        }
        Assert.Matches(@"Final estimate: PPL = 3293\d\.\d{4} \+/- 427\.\d{5}", run.Out);
    }

    [Fact]
    public void Expert_matrices_of_a_mixture_of_experts_match_llama_imatrix()
    {
        // The Mixtral-style llama of MoeModelFile (4 experts, 2 per token): ffn_*_exps entries hold one row of
        // sums per expert and each expert's own token count, as llama-imatrix collects a MUL_MAT_ID.
        var model = files.Path("llama-moe", "f32");
        var output = Temp("moe.dat");
        var run = CliRunner.Run("imatrix", "-m", model, "-f", Text, "-o", output, "--output-format", "dat",
            "-c", "128", "--chunks", "3", "-t", "2");
        Assert.True(run.ExitCode == 0, run.Error);
        var actual = ImatrixDatFile.Read(output);
        Assert.Contains(actual.Entries, e => e.Name == "blk.0.ffn_down_exps.weight");
        AssertMatches(ImatrixDatFileTests.Fixture("llama-moe.c128.chunks3.dat"), actual);
    }

    [Fact]
    public void Matrix_of_the_tiny_f16_model_matches_llama_imatrix()
    {
        // The tiny model's vocabulary has no '▁' piece, so llama.cpp (and Quanta) can only tokenize text without the
        // SPM space prefix: the matrix was computed on a copy with tokenizer.ggml.add_space_prefix = false.
        var model = Temp("tiny-nospace.gguf");
        var copy = CliRunner.Run("quantize", "--override-kv", "tokenizer.ggml.add_space_prefix=bool:false", CliRunner.TinyModel, model, "COPY");
        Assert.True(copy.ExitCode == 0, copy.Error);
        var output = Temp("tiny.dat");
        var run = CliRunner.Run("imatrix", "-m", model, "-f", ImatrixDatFileTests.Fixture("letters.txt"), "-o", output, "--output-format", "dat",
            "-c", "128", "--chunks", "8", "-t", "2");
        Assert.True(run.ExitCode == 0, run.Error);
        // llama-imatrix printed [1]557.3946 ... [8]539.9750; the F16 model's logits differ by float rounding.
        var printed = Running().Matches(run.Out).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(8, printed.Length);
        Assert.True(Math.Abs(printed[0] - 557.3946) < 1e-4 * 557.3946, $"{printed[0]}");
        Assert.True(Math.Abs(printed[7] - 539.9750) < 1e-4 * 539.9750, $"{printed[7]}");
        var actual = ImatrixDatFile.Read(output);
        AssertMatches(ImatrixDatFileTests.Fixture("tiny.c128.dat"), actual);
        Assert.Equal(8, actual.LastCall);
    }

    [Fact]
    public void Save_frequency_copies_are_llama_imatrix_s_snapshots()
    {
        // llama-imatrix --save-frequency 2 --output-frequency 3 on 5 chunks wrote OUT.at_2 and OUT.at_4 as the first
        // weight (blk.0.attn_q) reached the chunk: it holds 2 (4) calls there, every later weight 1 (3).
        var model = Temp("tiny-nospace.gguf");
        Assert.Equal(0, CliRunner.Run("quantize", "--override-kv", "tokenizer.ggml.add_space_prefix=bool:false", CliRunner.TinyModel, model, "COPY").ExitCode);
        var output = Temp("freq.dat");
        var run = CliRunner.Run("imatrix", "-m", model, "-f", ImatrixDatFileTests.Fixture("letters.txt"), "-o", output, "--output-format", "dat",
            "-c", "128", "--chunks", "5", "-t", "2", "--save-frequency", "2", "--output-frequency", "3", "--no-ppl");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(["freq.dat", "freq.dat.at_2", "freq.dat.at_4"], Directory.GetFiles(_directory.FullName, "freq.dat*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var (suffix, last) in new[] { (".at_2", 2), (".at_4", 4), ("", 5) })
        {
            var actual = ImatrixDatFile.Read(output + suffix);
            // The F16 model's activations differ from llama.cpp's by float rounding; over 2 to 5 chunks that reaches 1e-3.
            AssertMatches(ImatrixDatFileTests.Fixture("tiny.freq.dat" + suffix), actual, tolerance: 3e-3);
            Assert.Equal(last, actual.LastCall);
        }
        Assert.Equal(2, ImatrixDatFile.Read(output + ".at_2").Entries.Single(e => e.Name == "blk.0.attn_q.weight").Calls);
        Assert.Equal(1, ImatrixDatFile.Read(output + ".at_2").Entries.Single(e => e.Name == "blk.0.attn_k.weight").Calls);
    }

    [Fact]
    public void Show_statistics_prints_llama_imatrix_s_tables_for_one_in_file()
    {
        var run = CliRunner.Run("imatrix", "--show-statistics", "--in-file", ImatrixDatFileTests.Fixture("tiny.freq.dat"));
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains($"\nComputing statistics for {ImatrixDatFileTests.Fixture("tiny.freq.dat")} (28 tensors)\n", run.Out, StringComparison.Ordinal);
        Assert.Contains(" Layer\t       Tensor\t          Σ(Act²)\t  Min\t            Max\t           μ\t   σ\t % Active\tN\t   Entropy\tE (norm)\tZD\t  CosSim\n"
            + new string('=', 169) + "\n", run.Out, StringComparison.Ordinal);
        // Four blocks of seven weights; attn_k rows first (ordinal short names), the layer table after.
        var rows = run.Out.Split('\n').Where(l => Regex.IsMatch(l, @"^ {4}\d\t") && l.Split('\t').Length == 13).ToArray();
        Assert.Equal(28, rows.Length);
        Assert.All(rows.Take(4), r => Assert.StartsWith("attn_k ", r.Split('\t')[1], StringComparison.Ordinal));
        Assert.Contains("\nComputing weighted average statistics per layer (4 layers)\n\n  Layer\t     μΣ(Act²)\t      μZD\tμCosSim\n"
            + new string('=', 48) + "\n", run.Out, StringComparison.Ordinal);
        Assert.Equal(4, run.Out.Split('\n').Count(l => Regex.IsMatch(l, @"^ {4}\d\t +\d+\.\d\d\t +\d+\.\d{4}%\t-?\d\.\d{4}$")));

        var two = CliRunner.Run("imatrix", "--show-statistics", "--in-file", ImatrixDatFileTests.Fixture("tiny.freq.dat"), "--in-file", ImatrixDatFileTests.Fixture("tiny.c128.dat"));
        Assert.Equal(1, two.ExitCode);
        Assert.Contains("a single imatrix file is required to compute tensor statistics", two.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Convert_with_an_imatrix_equals_convert_then_quantize_with_it()
    {
        var checkpoint = Temp("checkpoint");
        Quanta.Tests.Conversion.TinyCheckpoint.Write("llama", checkpoint);
        var matrix = ImatrixDatFileTests.Fixture("llama.c128.out.chunks6.dat");
        var converted = Temp("converted.gguf");
        var convert = CliRunner.Run("convert", checkpoint, "--type", "IQ4_XS", "--imatrix", matrix, "-o", converted);
        Assert.True(convert.ExitCode == 0, convert.Error);
        var quantized = Temp("quantized.gguf");
        var quantize = CliRunner.Run("quantize", "--imatrix", matrix, files.Path("llama", "f32"), quantized, "IQ4_XS");
        Assert.True(quantize.ExitCode == 0, quantize.Error);
        var plain = Temp("plain.gguf");
        Assert.Equal(0, CliRunner.Run("quantize", files.Path("llama", "f32"), plain, "IQ4_XS").ExitCode);
        using var a = GgufFile.Open(converted);
        using var b = GgufFile.Open(quantized);
        using var c = GgufFile.Open(plain);
        Assert.Equal(b.Tensors.Select(t => t.Name), a.Tensors.Select(t => t.Name));
        for (var i = 0; i < a.Tensors.Count; i++)
        {
            Assert.True(a.Tensors[i].Data.SequenceEqual(b.Tensors[i].Data), a.Tensors[i].Name);
        }
        // The matrix made a difference (IQ4_XS weighs its scale search by it).
        Assert.False(b.FindTensor("blk.0.attn_q.weight")!.Data.SequenceEqual(c.FindTensor("blk.0.attn_q.weight")!.Data));
        Assert.Equal(15u, a.Metadata.GetUInt32("quantize.imatrix.entries_count"));
    }

    [Fact]
    public void Batches_smaller_than_the_context_count_one_call_each()
    {
        var output = Temp("b32.dat");
        var run = CliRunner.Run("imatrix", "-m", files.Path("llama", "f32"), "-f", Text, "-o", output, "--output-format", "dat",
            "-c", "128", "-b", "32", "--chunks", "4", "-t", "2", "--no-ppl");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.DoesNotContain("Final estimate", run.Out, StringComparison.Ordinal);
        var actual = ImatrixDatFile.Read(output);
        AssertMatches(ImatrixDatFileTests.Fixture("llama.c128.b32.dat"), actual);
        Assert.Equal(16, actual.LastCall);
    }

    [Fact]
    public void The_default_gguf_output_holds_the_same_statistics()
    {
        var output = Temp("m.gguf");
        var run = CliRunner.Run("imatrix", "-m", files.Path("llama", "f32"), "-f", Text, "-o", output,
            "-c", "128", "--chunks", "6", "-t", "2", "--process-output", "--no-ppl");
        Assert.True(run.ExitCode == 0, run.Error);
        using (var gguf = GgufFile.Open(output))
        {
            Assert.Equal("imatrix", gguf.Metadata.GetString("general.type"));
            Assert.Equal([Text], gguf.Metadata.GetArray("imatrix.datasets").As<string>());
            Assert.Equal(6u, gguf.Metadata.GetUInt32("imatrix.chunk_count"));
            Assert.Equal(128u, gguf.Metadata.GetUInt32("imatrix.chunk_size"));
            // in_sum2, counts and in_sum per weight.
            Assert.Equal(45, gguf.Tensors.Count);
        }
        var matrix = ImportanceMatrix.ReadGguf(output);
        Assert.All(matrix.Entries, e => Assert.Equal([768L], e.Counts));
        AssertMatches(ImatrixDatFileTests.Fixture("llama.c128.out.chunks6.dat"), matrix.ToDat(out _));
    }

    [Fact]
    public void In_files_alone_are_merged_as_llama_imatrix_merges_them()
    {
        var output = Temp("merged.dat");
        var run = CliRunner.Run("imatrix", "--in-file", ImatrixDatFileTests.Fixture("llama.c128.out.chunks6.dat"),
            "--in-file", ImatrixDatFileTests.Fixture("llama.c128.b32.dat"), "-o", output, "--output-format", "dat");
        Assert.True(run.ExitCode == 0, run.Error);
        var expected = ImatrixDatFile.Read(ImatrixDatFileTests.Fixture("llama.merged.dat"));
        var actual = ImatrixDatFile.Read(output).Entries.ToDictionary(e => e.Name);
        Assert.Equal(expected.Entries.Count, actual.Count);
        foreach (var entry in expected.Entries)
        {
            Assert.Equal(entry.Calls, actual[entry.Name].Calls);
            Assert.Equal(entry.Values, actual[entry.Name].Values);
        }
    }

    [Fact]
    public void Too_little_text_is_llama_imatrix_s_error_and_writes_nothing()
    {
        var output = Temp("none.gguf");
        var run = CliRunner.Run("imatrix", "-m", files.Path("llama", "f32"), "-f", Text, "-o", output, "-c", "2048", "-t", "2");
        Assert.Equal(2, run.ExitCode);
        Assert.Matches(@"error: you need at least 4096 tokens for a context of 2048 tokens; the data file you provided tokenizes to only \d+ tokens\n", run.Error);
        Assert.Empty(Directory.GetFiles(_directory.FullName));
    }

    [Fact]
    public void Neither_text_nor_in_files_is_a_usage_error()
    {
        var run = CliRunner.Run("imatrix", "-o", Temp("x.gguf"));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("no precomputed matrices", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_shows_a_matrix_s_entries_chunks_and_dataset_in_either_format()
    {
        var dat = CliRunner.Run("inspect", ImatrixDatFileTests.Fixture("llama.c128.out.chunks6.dat"));
        Assert.True(dat.ExitCode == 0, dat.Error);
        Assert.Contains("Format:    legacy imatrix (.dat)\n", dat.Out, StringComparison.Ordinal);
        Assert.Contains("Entries:   15\n", dat.Out, StringComparison.Ordinal);
        Assert.Contains("Chunks:    6\n", dat.Out, StringComparison.Ordinal);
        Assert.Contains("Datasets:  apache2.txt\n", dat.Out, StringComparison.Ordinal);
        Assert.Matches(@"\n  output\.weight +256 +1 +6 +\d", dat.Out);

        var gguf = Temp("m.gguf");
        Assert.Equal(0, CliRunner.Run("imatrix", "--in-file", ImatrixDatFileTests.Fixture("llama.c128.b32.dat"), "-o", gguf, "-c", "128").ExitCode);
        var json = CliRunner.Run("inspect", "--json", gguf);
        Assert.True(json.ExitCode == 0, json.Error);
        using var document = System.Text.Json.JsonDocument.Parse(json.Out);
        var root = document.RootElement;
        Assert.Equal("gguf", root.GetProperty("format").GetString());
        Assert.Equal(16, root.GetProperty("chunk_count").GetInt32());
        Assert.Equal(128, root.GetProperty("chunk_size").GetInt32());
        Assert.Equal("apache2.txt", root.GetProperty("datasets")[0].GetString());
        Assert.Equal(14, root.GetProperty("entries").GetArrayLength());
        // 16 calls of 128 tokens each, as the 2026 loader counts a legacy entry.
        Assert.Equal(2048, root.GetProperty("entries")[0].GetProperty("count").GetInt64());
    }

    /// <summary>Same entries and call counts as llama-imatrix's file, every value within 1e-3 relative.</summary>
    static void AssertMatches(string expectedPath, ImatrixDatFile actual, double tolerance = 1e-3)
    {
        var expected = ImatrixDatFile.Read(expectedPath);
        var byName = actual.Entries.ToDictionary(e => e.Name);
        Assert.Equal(expected.Entries.Select(e => e.Name).Order(StringComparer.Ordinal), byName.Keys.Order(StringComparer.Ordinal));
        foreach (var entry in expected.Entries)
        {
            var mine = byName[entry.Name];
            Assert.Equal(entry.Calls, mine.Calls);
            Assert.Equal(entry.Values.Length, mine.Values.Length);
            for (var i = 0; i < entry.Values.Length; i++)
            {
                Assert.True(Math.Abs(mine.Values[i] - entry.Values[i]) <= tolerance * Math.Abs(entry.Values[i]),
                    $"{entry.Name}[{i}]: {mine.Values[i]} vs llama-imatrix's {entry.Values[i]}");
            }
        }
    }

    [GeneratedRegex(@"\[\d+\](\d+\.\d+),")]
    private static partial Regex Running();

    public void Dispose() => _directory.Delete(recursive: true);
}
