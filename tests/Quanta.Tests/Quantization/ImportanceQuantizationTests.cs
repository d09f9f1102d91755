using System.Text.Json;
using Quanta.Formats.Gguf;
using Quanta.Formats.Imatrix;
using Quanta.Quantization;
using Quanta.Store;
using Quanta.Tests.Cli;
using Xunit;

namespace Quanta.Tests.Quantization;

/// <summary>
/// <c>--imatrix</c> against llama-quantize (February 2025) with a matrix llama-imatrix computed for the tiny
/// golden model (Fixtures/imatrix/tiny.c128.dat): every tensor byte-identical for each preset whose types Quanta
/// encodes, with <c>--include-weights</c> / <c>--exclude-weights</c>, and the <c>quantize.imatrix.*</c> keys
/// (the same values; u32 as the 2026 source writes them where that build wrote i32).
/// </summary>
public sealed class ImportanceQuantizationTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "imatrix", name);

    static string Matrix => Fixture("tiny.c128.dat");

    [Theory]
    [InlineData("Q4_K_M", "Q4_K_M")]
    [InlineData("IQ4_XS", "IQ4_XS")]
    [InlineData("Q3_K_S", "Q3_K_S")]
    [InlineData("Q2_K_S", "Q2_K_S")]
    [InlineData("IQ3_XS", "IQ3_XS")]
    [InlineData("IQ3_M", "IQ3_M")]
    [InlineData("Q4_0", "Q4_0")]
    [InlineData("Q6_K", "Q6_K")]
    [InlineData("IQ2_XXS", "IQ2_XXS")]
    [InlineData("IQ2_XS", "IQ2_XS")]
    [InlineData("IQ2_S", "IQ2_S")]
    [InlineData("IQ2_M", "IQ2_M")]
    [InlineData("IQ3_XXS", "IQ3_XXS")] // its mix puts attn_k in IQ2_S on this model
    [InlineData("IQ1_S", "IQ1_S")] // attn_output in IQ2_XXS
    [InlineData("IQ1_M", "IQ1_M")]
    [InlineData("Q4_K_M.exclude-ffn_down-attn_q", "Q4_K_M", "--exclude-weights", "ffn_down", "--exclude-weights", "attn_q")]
    [InlineData("IQ4_XS.include-attn_v-blk.3", "IQ4_XS", "--include-weights", "attn_v", "--include-weights", "blk.3")]
    // --pure keeps every layer tensor in IQ1 (the embeddings, which the matrix does not cover, in Q2_K and the
    // output in Q5_K, as the mix would).
    [InlineData("IQ1_S.pure", "IQ1_S", "--pure", "--token-embedding-type", "q2_K", "--output-tensor-type", "q5_K")]
    [InlineData("IQ1_M.pure", "IQ1_M", "--pure", "--token-embedding-type", "q2_K", "--output-tensor-type", "q5_K")]
    public void Quantize_with_a_llama_imatrix_matrix_writes_llama_quantize_s_bytes(string expected, string preset, params string[] switches)
    {
        using var dir = new TempDirectory();
        var output = dir.File("out.gguf");
        string[] args = ["quantize", "--imatrix", Matrix, .. switches, ExpectedModel.TinyModel, output, preset, "2"];
        var run = CliRunner.Run(args);
        Assert.True(run.ExitCode == 0, run.Error);
        var path = Fixture($"tiny-llama.{expected}.expected.json");
        ExpectedModel.AssertMatches(ExpectedModel.LoadFile(path), output);
        AssertImatrixKeys(path, output, Matrix);
    }

    [Fact]
    public void The_matrix_changes_the_bytes()
    {
        // Without the matrix the tiny model's Q4_K_M is Fixtures/models/tiny-llama.Q4_K_M.expected.json; with it
        // every tensor the matrix covers must come out differently, or the weights never reached the codecs.
        var plain = ExpectedModel.Load("Q4_K_M").Tensors.ToDictionary(t => t.Name, t => t.Sha256);
        var weighted = ExpectedModel.LoadFile(Fixture("tiny-llama.Q4_K_M.expected.json")).Tensors;
        var covered = weighted.Where(t => t.Name.StartsWith("blk.", StringComparison.Ordinal) && t.Name.EndsWith("_q.weight", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, covered.Length);
        Assert.All(covered, t => Assert.NotEqual(plain[t.Name], t.Sha256));
        Assert.Equal(plain["token_embd.weight"], weighted.Single(t => t.Name == "token_embd.weight").Sha256);
    }

    [Fact]
    public void A_gguf_imatrix_converted_from_the_dat_gives_the_same_file()
    {
        using var dir = new TempDirectory();
        var gguf = dir.File("tiny.imatrix.gguf");
        var converted = CliRunner.Run("imatrix", "--in-file", Matrix, "-o", gguf);
        Assert.True(converted.ExitCode == 0, converted.Error);
        var output = dir.File("out.gguf");
        var run = CliRunner.Run("quantize", "--imatrix", gguf, ExpectedModel.TinyModel, output, "Q4_K_M");
        Assert.True(run.ExitCode == 0, run.Error);
        ExpectedModel.AssertMatches(ExpectedModel.LoadFile(Fixture("tiny-llama.Q4_K_M.expected.json")), output);
        using var file = GgufFile.Open(output);
        // The chunk count is the legacy call count (8) times the 512 tokens assumed per call, over 512.
        Assert.Equal(8u, file.Metadata.GetUInt32(ImportanceWeights.ChunksCountKey));
        Assert.Equal("letters.txt", file.Metadata.GetString(ImportanceWeights.DatasetKey));
    }

    [Fact]
    public void A_tensor_that_needs_the_matrix_and_has_no_entry_is_llama_quantize_s_error()
    {
        using var dir = new TempDirectory();
        var run = CliRunner.Run("quantize", "--imatrix", Matrix, "--exclude-weights", "attn_q", ExpectedModel.TinyModel, dir.File("out.gguf"), "Q2_K_S");
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("error: Missing importance matrix for tensor blk.0.attn_q.weight in a very low-bit quantization (q2_K)", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Include_and_exclude_together_are_refused()
    {
        using var dir = new TempDirectory();
        var run = CliRunner.Run("quantize", "--imatrix", Matrix, "--include-weights", "a", "--exclude-weights", "b", ExpectedModel.TinyModel, dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("error: --include-weights and --exclude-weights cannot be used together\n", run.Error);
    }

    [Fact]
    public void An_entry_of_the_wrong_size_is_refused_before_anything_is_written()
    {
        using var dir = new TempDirectory();
        var bad = dir.File("bad.dat");
        new ImatrixDatFile([new ImatrixDatEntry("blk.0.attn_q.weight", 1, new float[128])], 1, "x.txt").Write(bad);
        var run = CliRunner.Run("quantize", "--imatrix", bad, ExpectedModel.TinyModel, dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("error: imatrix size 128 is different from tensor size 256 for blk.0.attn_q.weight\n", run.Error);
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    [Fact]
    public void Create_quantize_in_the_store_uses_the_matrix()
    {
        using var dir = new TempDirectory();
        File.Copy(ExpectedModel.TinyModel, dir.File("tiny.gguf"));
        File.WriteAllText(dir.File("Modelfile"), "FROM ./tiny.gguf\n");
        var store = dir.File("store");
        var created = CliRunner.Run("create", "tiny-imatrix", "-f", dir.File("Modelfile"), "--quantize", "IQ4_XS", "--imatrix", Matrix, "--store", store);
        Assert.True(created.ExitCode == 0, created.Error);
        var model = StoredModel.Load(new ModelStore(store), ModelName.Parse("tiny-imatrix"));
        var expected = Fixture("tiny-llama.IQ4_XS.expected.json");
        ExpectedModel.AssertMatches(ExpectedModel.LoadFile(expected), model.ModelPath);
        AssertImatrixKeys(expected, model.ModelPath, Matrix);

        // quantize within the store: a new model from the stored one, with the matrix.
        var base16 = CliRunner.Run("create", "tiny16", "-f", dir.File("Modelfile"), "--store", store);
        Assert.True(base16.ExitCode == 0, base16.Error);
        var quantized = CliRunner.Run("quantize", "tiny16", "tiny16:q2ks", "Q2_K_S", "--imatrix", Matrix, "--store", store);
        Assert.True(quantized.ExitCode == 0, quantized.Error);
        var q2 = StoredModel.Load(new ModelStore(store), ModelName.Parse("tiny16:q2ks"));
        ExpectedModel.AssertMatches(ExpectedModel.LoadFile(Fixture("tiny-llama.Q2_K_S.expected.json")), q2.ModelPath);
    }

    /// <summary>The four keys last, in llama-quantize's order, with its values (the file as given on the command line).</summary>
    static void AssertImatrixKeys(string expectedPath, string output, string matrixPath)
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(expectedPath));
        var expected = json.RootElement.GetProperty("metadata");
        using var file = GgufFile.Open(output);
        var keys = file.Metadata.Keys.ToArray();
        Assert.Equal([ImportanceWeights.FileKey, ImportanceWeights.DatasetKey, ImportanceWeights.EntriesCountKey, ImportanceWeights.ChunksCountKey], keys[^4..]);
        Assert.Equal(Path.GetFileName(expected.GetProperty(ImportanceWeights.FileKey).GetString()), Path.GetFileName(file.Metadata.GetString(ImportanceWeights.FileKey)));
        Assert.Equal(matrixPath, file.Metadata.GetString(ImportanceWeights.FileKey));
        Assert.Equal(expected.GetProperty(ImportanceWeights.DatasetKey).GetString(), file.Metadata.GetString(ImportanceWeights.DatasetKey));
        Assert.Equal((uint)expected.GetProperty(ImportanceWeights.EntriesCountKey).GetInt32(), file.Metadata.GetUInt32(ImportanceWeights.EntriesCountKey));
        Assert.Equal((uint)expected.GetProperty(ImportanceWeights.ChunksCountKey).GetInt32(), file.Metadata.GetUInt32(ImportanceWeights.ChunksCountKey));
    }
}
