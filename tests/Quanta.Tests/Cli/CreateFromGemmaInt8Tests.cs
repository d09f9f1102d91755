using Quanta.Conversion.GemmaInt8;
using Quanta.Quantization;
using Quanta.Store;
using Quanta.Tests.Conversion.GemmaInt8;

namespace Quanta.Tests.Cli;

/// <summary>
/// <c>create</c> with <c>FROM ./model.ckpt</c> (or the directory holding it): the gemma_pytorch int8 checkpoint
/// converted in one pass into the model blob, byte for byte what <c>quanta convert MODEL.ckpt --type T</c> writes.
/// The tiny checkpoint is no known variant, so these name it through <see cref="CreateOptions.GemmaVariant"/>.
/// </summary>
public sealed class CreateFromGemmaInt8Tests : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    string Store => _dir.File("store");

    /// <summary>The checkpoint at <c>gemma/model.ckpt</c>, and a copy for convert to write beside.</summary>
    (string Directory, string Checkpoint, string ForConvert) Checkpoint()
    {
        var directory = _dir.File("gemma");
        Directory.CreateDirectory(directory);
        var bytes = GemmaInt8Tests.TinyCheckpoint(r => r == 3 ? 1e-7f : 0.01f);
        var checkpoint = Path.Combine(directory, "model.ckpt");
        File.WriteAllBytes(checkpoint, bytes);
        var forConvert = _dir.File("convert.ckpt");
        File.WriteAllBytes(forConvert, bytes);
        return (directory, checkpoint, forConvert);
    }

    Manifest Create(string from, CreateOptions options) =>
        ModelCreator.Create(new ModelStore(Store), ModelName.Parse("tiny"), Modelfile.Parse($"FROM {from}\nPARAMETER temperature 0.5\n"), _dir.Path, options);

    StoredModel Load() => StoredModel.Load(new ModelStore(Store), ModelName.Parse("tiny"));

    [Theory]
    [InlineData("./gemma")]
    [InlineData("./gemma/model.ckpt")]
    public void Without_quantize_the_blob_is_what_convert_writes_for_auto(string from)
    {
        var (_, _, forConvert) = Checkpoint();
        var status = new List<string>();
        var warnings = new List<string>();
        Create(from, new CreateOptions { GemmaVariant = GemmaInt8Tests.Tiny, Status = status.Add, Warning = warnings.Add });

        var model = Load();
        Assert.Equal(File.ReadAllBytes(GemmaInt8ConvertTests.Convert(forConvert, "auto")), File.ReadAllBytes(model.ModelPath));
        Assert.Equal(File.ReadAllBytes(GemmaInt8ConvertTests.Convert(forConvert, "q8_0")), File.ReadAllBytes(model.ModelPath));
        Assert.Equal("Q8_0", model.Config.FileType);
        Assert.Equal("gemma2", model.Config.ModelFamily);
        Assert.Equal("converting model", status[0]);
        Assert.StartsWith("creating new layer sha256:", status[1], StringComparison.Ordinal);
        Assert.Contains(warnings, w => w.Contains("re-encoded to Q8_0 from float32", StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFiles(_dir.File("gemma"), "*.gguf"));
    }

    [Theory]
    [InlineData("Q4_K_M")]
    [InlineData("Q8_0")]
    [InlineData("F16")]
    public void With_quantize_the_blob_is_what_convert_writes_for_that_type(string type)
    {
        var (_, _, forConvert) = Checkpoint();
        var status = new List<string>();
        Create("./gemma", new CreateOptions { GemmaVariant = GemmaInt8Tests.Tiny, Quantize = QuantizationPresets.Parse(type), Status = status.Add });

        // Q8_0 and F16 are types the converter writes itself (as 'convert --type' reads them): no quantize step.
        Assert.Equal(type == "Q4_K_M" ? ["converting model", $"quantizing Q8_0 model to {type}"] : ["converting model"],
            status.TakeWhile(l => !l.StartsWith("creating new layer", StringComparison.Ordinal)));
        var model = Load();
        Assert.Equal(File.ReadAllBytes(GemmaInt8ConvertTests.Convert(forConvert, type)), File.ReadAllBytes(model.ModelPath));
        Assert.Equal(type, model.Config.FileType);
    }

    [Fact]
    public void A_wrong_explicit_variant_is_a_modelfile_error_naming_the_line()
    {
        Checkpoint();
        var e = Assert.Throws<ModelfileException>(() => Create("./gemma", new CreateOptions { GemmaVariant = GemmaVariant.Find("2b") }));
        Assert.Contains("FROM ./gemma:", e.Message, StringComparison.Ordinal);
        Assert.Contains("is not Gemma variant '2b'", e.Message, StringComparison.Ordinal);
        Assert.Empty(new ModelStore(Store).List());
    }

    [Theory]
    [InlineData("./gemma")]
    [InlineData("./gemma/model.ckpt")]
    public void An_unrecognised_variant_is_one_line_exit_2_naming_convert_variant_and_the_store_is_untouched(string from)
    {
        Checkpoint();
        var modelfile = _dir.File("Modelfile");
        File.WriteAllText(modelfile, $"FROM {from}\n");
        var result = CliRunner.Run("create", "tiny", "-f", modelfile, "--store", Store);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains($"(line 1): FROM {from}:", line, StringComparison.Ordinal);
        Assert.Contains("quanta convert", line, StringComparison.Ordinal);
        Assert.Contains("--variant", line, StringComparison.Ordinal);
        Assert.Empty(new ModelStore(Store).List());
        Assert.False(Directory.Exists(Path.Combine(Store, "blobs")) && Directory.EnumerateFiles(Path.Combine(Store, "blobs")).Any());
    }

    [Fact]
    public void A_checkpoint_cannot_be_an_adapter()
    {
        Checkpoint();
        var e = Assert.Throws<ModelfileException>(() => ModelSource.Resolve("./gemma/model.ckpt", _dir.Path, 2, "ADAPTER"));
        Assert.Contains("only be used with FROM", e.Message, StringComparison.Ordinal);
        Assert.IsType<ModelSource.GemmaInt8Source>(ModelSource.Resolve("./gemma", _dir.Path, 1));
    }
}
