namespace Quanta.Tests.Cli;

/// <summary><c>--shards</c>, <c>--shard</c> and <c>shard-status</c> on the command line, in process.</summary>
public sealed class ShardCommandTests : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Dry_run_prints_the_plan_and_the_shards()
    {
        var result = CliRunner.Run("quantize", CliRunner.TinyModel, _dir.File("out.gguf"), "Q4_K_M", "--dry-run", "--shards", "3");

        Assert.Equal(0, result.ExitCode);
        var lines = result.Out.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("quant size =", StringComparison.Ordinal));
        Assert.Matches(@"(?m)^shard  file\s+tensors\s+MiB in\s+MiB out\s+work  first \.\. last tensor$", result.Out);
        Assert.Matches(@"(?m)^    1  out-00001-of-00003\.gguf\s+15 .* output\.weight \.\. blk\.1\.attn_output\.weight$", result.Out);
        Assert.Matches(@"(?m)^    3  out-00003-of-00003\.gguf\s+12 .* \.\. blk\.3\.ffn_up\.weight$", result.Out);
        Assert.Matches(@"(?m)^3 shards; the largest holds \d+\.\d% of the estimated work: \d\.\d\dx faster than one task when all run at once$", result.Out);
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void A_task_writes_only_its_shard_and_shard_status_reports_the_rest()
    {
        var prefix = _dir.File("model");
        Assert.Equal(0, CliRunner.Run("quantize", CliRunner.TinyModel, prefix + ".gguf", "Q8_0", "--shard", "2/3").ExitCode);
        Assert.Equal(["model-00002-of-00003.gguf"], _dir.List());

        var status = CliRunner.Run("shard-status", prefix);
        Assert.Equal(2, status.ExitCode);
        Assert.Equal(
            "model-00001-of-00003.gguf  missing\nmodel-00002-of-00003.gguf  ok\nmodel-00003-of-00003.gguf  missing\n",
            status.Out.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Equal("error: 2 of 3 shards are not complete (2 missing, 0 incomplete)", status.Error.TrimEnd());

        // --shards N with --shard I/N is the same set; a truncated copy is incomplete, a full one ok.
        Assert.Equal(0, CliRunner.Run("quantize", CliRunner.TinyModel, prefix + ".gguf", "Q8_0", "--shards", "3", "--shard", "1/3").ExitCode);
        Assert.Equal(0, CliRunner.Run("quantize", CliRunner.TinyModel, prefix + ".gguf", "Q8_0", "--shard", "3/3").ExitCode);
        Assert.Equal(0, CliRunner.Run("shard-status", prefix + ".gguf").ExitCode);
        var third = prefix + "-00003-of-00003.gguf";
        var bytes = File.ReadAllBytes(third);
        File.WriteAllBytes(third, bytes[..^100]);
        status = CliRunner.Run("shard-status", prefix + "-00001-of-00003.gguf");
        Assert.Equal(2, status.ExitCode);
        Assert.Matches(@"(?m)^model-00003-of-00003\.gguf  incomplete: .*truncated", status.Out);
        Assert.Contains("0 missing, 1 incomplete", status.Error);
        File.WriteAllBytes(third, bytes[..^1]);
        Assert.Matches(@"(?m)^model-00003-of-00003\.gguf  incomplete: .*truncated", CliRunner.Run("shard-status", prefix).Out);
        // Another set's shard under this name is not this shard.
        File.Copy(prefix + "-00002-of-00003.gguf", third, overwrite: true);
        Assert.Contains("model-00003-of-00003.gguf  incomplete: its keys say shard 2 of 3", CliRunner.Run("shard-status", prefix).Out);
    }

    [Fact]
    public void Shard_status_needs_a_count_when_no_shard_exists()
    {
        var none = CliRunner.Run("shard-status", _dir.File("model"));
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("no shard", none.Error);
        var listed = CliRunner.Run("shard-status", _dir.File("model"), "--shards", "2");
        Assert.Equal(2, listed.ExitCode);
        Assert.Equal("model-00001-of-00002.gguf  missing\nmodel-00002-of-00002.gguf  missing\n", listed.Out.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--shard", "0/3", "--shard: invalid shard '0/3'")]
    [InlineData("--shard", "4/3", "--shard: invalid shard '4/3'")]
    [InlineData("--shard", "2", "--shard: invalid shard '2'")]
    [InlineData("--shards", "0", "--shards must be at least 1")]
    [InlineData("--shards", "50", "50 shards for 39 tensors")]
    public void Bad_shard_options_are_one_line_errors(string option, string value, string message)
    {
        var result = CliRunner.Run("quantize", CliRunner.TinyModel, _dir.File("out.gguf"), "Q8_0", option, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains(message, result.Error);
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void Disagreeing_counts_and_split_limits_are_refused()
    {
        var result = CliRunner.Run("quantize", CliRunner.TinyModel, _dir.File("out.gguf"), "Q8_0", "--shards", "2", "--shard", "1/3");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--shard 1/3 is one of 3 shards, but --shards says 2", result.Error);
        result = CliRunner.Run("quantize", CliRunner.TinyModel, _dir.File("out.gguf"), "Q8_0", "--shards", "2", "--split-max-tensors", "5");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("cannot be combined", result.Error);
    }

    [Fact]
    public void Convert_writes_one_shard_of_a_checkpoint()
    {
        var checkpoint = Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", "tiny-llama-trained");
        var dry = CliRunner.Run("convert", checkpoint, "--type", "q8_0", "-o", _dir.File("c.gguf"), "--dry-run", "--shards", "2");
        Assert.Equal(0, dry.ExitCode);
        Assert.Matches(@"(?m)^    2  c-00002-of-00002\.gguf ", dry.Out);

        var one = CliRunner.Run("convert", checkpoint, "--type", "q8_0", "-o", _dir.File("c.gguf"), "--shard", "2/2");
        Assert.Equal(0, one.ExitCode);
        Assert.Equal(["c-00002-of-00002.gguf"], _dir.List());
    }
}
