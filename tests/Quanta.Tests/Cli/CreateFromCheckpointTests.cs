using Quanta.Store;
using Quanta.Tests.Conversion;

namespace Quanta.Tests.Cli;

/// <summary><c>create</c> with <c>FROM ./hf-dir</c>: the checkpoint converted in one pass into the model blob.</summary>
public sealed class CreateFromCheckpointTests : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    string Store => _dir.File("store");

    string Checkpoint()
    {
        var directory = _dir.File("tiny-llama");
        if (!Directory.Exists(directory))
        {
            TinyCheckpoint.Write("llama", directory);
        }
        return directory;
    }

    string Modelfile(string text)
    {
        var path = _dir.File("Modelfile");
        File.WriteAllText(path, text);
        return path;
    }

    byte[] Converted(string type)
    {
        var output = _dir.File($"converted-{type}.gguf");
        var result = CliRunner.Run("convert", Checkpoint(), "--type", type, "-o", output);
        Assert.True(result.ExitCode == 0, result.Error);
        return File.ReadAllBytes(output);
    }

    StoredModel Load(string name) => StoredModel.Load(new ModelStore(Store), ModelName.Parse(name));

    [Fact]
    public void Without_quantize_the_blob_is_what_convert_writes_in_the_checkpoint_precision()
    {
        Checkpoint();
        var created = CliRunner.Run("create", "tiny", "-f", Modelfile("FROM ./tiny-llama\nPARAMETER temperature 0.5\n"), "--store", Store);
        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Equal("converting model", created.ErrorLines[0]);
        Assert.StartsWith("creating new layer sha256:", created.ErrorLines[1], StringComparison.Ordinal);
        Assert.Equal(["writing manifest", "success"], created.ErrorLines[^2..]);

        var model = Load("tiny");
        Assert.Equal(Converted("auto"), File.ReadAllBytes(model.ModelPath));
        Assert.Equal("BF16", model.Config.FileType);
        Assert.Equal("llama", model.Config.ModelFamily);
        Assert.Empty(Directory.EnumerateFiles(Checkpoint(), "*.gguf"));
    }

    [Theory]
    [InlineData("q4_K_M")]
    [InlineData("Q6_K")]
    public void With_quantize_the_blob_is_what_convert_writes_for_that_type(string type)
    {
        Checkpoint();
        var created = CliRunner.Run("create", "tiny", "-f", Modelfile("FROM ./tiny-llama\n"), "--quantize", type, "--store", Store);
        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Equal(["converting model", $"quantizing BF16 model to {type.ToUpperInvariant()}"], created.ErrorLines[..2]);

        var model = Load("tiny");
        Assert.Equal(Converted(type), File.ReadAllBytes(model.ModelPath));
        Assert.Equal(type.ToUpperInvariant(), model.Config.FileType);
    }

    [Fact]
    public void Quantize_q8_0_is_the_quantize_preset_not_the_converter_type()
    {
        // 'convert --type q8_0' is convert_hf_to_gguf.py's q8_0; '--quantize' always means a 'quanta quantize'
        // preset, so the blob is 'convert --type f32' followed by 'quantize Q8_0'.
        Checkpoint();
        var f32 = _dir.File("f32.gguf");
        File.WriteAllBytes(f32, Converted("f32"));
        var quantized = CliRunner.Run("quantize", f32, _dir.File("q8.gguf"), "Q8_0");
        Assert.True(quantized.ExitCode == 0, quantized.Error);
        var created = CliRunner.Run("create", "tiny", "-f", Modelfile("FROM ./tiny-llama\n"), "--quantize", "q8_0", "--store", Store);
        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Equal(File.ReadAllBytes(_dir.File("q8.gguf")), File.ReadAllBytes(Load("tiny").ModelPath));
    }

    [Fact]
    public void A_broken_checkpoint_is_one_line_exit_2_and_the_store_is_untouched()
    {
        var directory = Checkpoint();
        File.WriteAllText(Path.Combine(directory, "config.json"), """{"architectures": ["NoSuchForCausalLM"]}""");
        var result = CliRunner.Run("create", "tiny", "-f", Modelfile("FROM ./tiny-llama\n"), "--store", Store);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: ", result.ErrorLines[^1], StringComparison.Ordinal);
        Assert.Contains("(line 1): FROM ./tiny-llama:", result.ErrorLines[^1], StringComparison.Ordinal);
        Assert.Empty(new ModelStore(Store).List());
        Assert.False(Directory.Exists(Path.Combine(Store, "blobs")) && Directory.EnumerateFiles(Path.Combine(Store, "blobs")).Any());
    }
}
