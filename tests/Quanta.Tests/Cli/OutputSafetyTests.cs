using System.Runtime.InteropServices;
using Quanta.Cli;
using Quanta.Tests.Conversion;

namespace Quanta.Tests.Cli;

/// <summary>
/// What the commands leave on disk around their outputs: temporary files of killed runs are swept, a stop by
/// any signal reports itself, and a missing output directory is named as such.
/// </summary>
public sealed class OutputSafetyTests : IDisposable
{
    const string Hex = "0123456789abcdef";
    const string OllamaDigest = "sha256-6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa";

    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    static string Leftover(string directory, string name, TimeSpan age)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, "left behind");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }

    [Fact]
    public void Quantize_sweeps_the_stale_temporaries_of_killed_runs_from_its_output_directory()
    {
        var output = _dir.File("out");
        var stale = Leftover(output, ".q.gguf." + Hex + ".tmp", TimeSpan.FromHours(2));
        var recent = Leftover(output, ".q.gguf.fedcba9876543210.tmp", TimeSpan.FromMinutes(50));
        var download = Leftover(output, OllamaDigest + "-partial", TimeSpan.FromHours(2));

        var result = CliRunner.Run("quantize", CliRunner.TinyModel, Path.Combine(output, "q.gguf"), "Q8_0");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(recent));
        Assert.True(File.Exists(download));
        Assert.True(File.Exists(Path.Combine(output, "q.gguf")));
    }

    [Fact]
    public void Create_sweeps_the_stores_stale_temporaries_and_never_Ollamas_partial_downloads()
    {
        var store = _dir.File("store");
        var blobs = Path.Combine(store, "blobs");
        var ours = new[]
        {
            Leftover(blobs, "..quanta-blob." + Hex + ".tmp.fedcba9876543210.tmp", TimeSpan.FromHours(3)),
            // Names of the Quanta versions before: the writer's temporary of a store temporary, and the store's.
            Leftover(blobs, "..quanta-" + Hex + ".partial.fedcba9876543210.tmp", TimeSpan.FromHours(3)),
            Leftover(blobs, ".quanta-" + Hex + ".partial", TimeSpan.FromDays(2)),
        };
        var theirs = new[]
        {
            Leftover(blobs, OllamaDigest + "-partial", TimeSpan.FromHours(3)),
            Leftover(blobs, OllamaDigest + "-partial-0", TimeSpan.FromHours(3)),
            Leftover(blobs, "sha256-1234567890", TimeSpan.FromHours(3)),
            Leftover(blobs, ".quanta-blob.fedcba9876543210.tmp", TimeSpan.FromMinutes(5)),
        };
        var modelfile = _dir.File("Modelfile");
        File.WriteAllText(modelfile, $"FROM {CliRunner.TinyModel}\n");

        var result = CliRunner.Run("create", "m", "-f", modelfile, "--store", store);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.All(ours, f => Assert.False(File.Exists(f), f));
        Assert.All(theirs, f => Assert.True(File.Exists(f), f));
    }

    [Theory]
    [InlineData("quantize")]
    [InlineData("convert")]
    [InlineData("gguf split")]
    public void A_missing_output_directory_is_named_not_a_temporary_file(string command)
    {
        var missing = _dir.File("no-such-dir");
        var target = Path.Combine(missing, "out.gguf");
        string[] args = command switch
        {
            "quantize" => ["quantize", CliRunner.TinyModel, target, "Q8_0"],
            "convert" => ["convert", Checkpoint(), "--type", "f16", "-o", target],
            _ => ["gguf", "split", CliRunner.TinyModel, "--max-tensors", "20", Path.Combine(missing, "s")],
        };

        var result = CliRunner.Run(args);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.EndsWith($": the directory '{missing}' does not exist", line, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    string Checkpoint()
    {
        var directory = _dir.File("tiny-llama");
        TinyCheckpoint.Write("llama", directory);
        return directory;
    }

    [Theory]
    [InlineData(PosixSignal.SIGINT, ExitCodes.Cancelled, "cancelled")]
    [InlineData(PosixSignal.SIGTERM, ExitCodes.Terminated, "cancelled (SIGTERM)")]
    [InlineData(PosixSignal.SIGHUP, ExitCodes.HungUp, "cancelled (SIGHUP)")]
    public async Task A_stop_request_sets_the_exit_code_and_message_of_its_signal(PosixSignal signal, int exitCode, string message)
    {
        using var stop = new StopRequest();
        Assert.True(stop.TryRequest(signal));
        // Only the first request counts.
        Assert.False(stop.TryRequest(signal == PosixSignal.SIGINT ? PosixSignal.SIGTERM : PosixSignal.SIGINT));
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var output = _dir.File("q.gguf");

        var exit = await Quanta.Cli.Cli.RunAsync(["quantize", CliRunner.TinyModel, output, "Q8_0"], new CliContext(stdout, stderr), stop);

        Assert.Equal(exitCode, exit);
        Assert.Equal(message, stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].TrimEnd('\r'));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Path));
    }

    [Fact]
    public async Task After_SIGHUP_a_terminal_that_is_gone_still_gives_exit_129_and_no_file()
    {
        using var stop = new StopRequest();
        using var stdout = new StringWriter();
        using var gone = new GoneTerminal();
        var output = _dir.File("q.gguf");
        stop.TryRequest(PosixSignal.SIGHUP);

        var exit = await Quanta.Cli.Cli.RunAsync(["quantize", CliRunner.TinyModel, output, "Q8_0"], new CliContext(stdout, gone), stop);

        Assert.Equal(ExitCodes.HungUp, exit);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Path));
    }

    /// <summary>A hung-up terminal: every write fails with EIO.</summary>
    sealed class GoneTerminal : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => throw new IOException("Input/output error");
    }
}
