using System.Diagnostics;
using Xunit;

namespace Quanta.Tests.Cli;

/// <summary>
/// A batch job simulated on this machine: N tasks (<c>--shard I/N</c>) as N separate processes, all at once, as a
/// Kubernetes Indexed Job or a Slurm array would start them; the set they write together must be, byte for
/// byte, the set one process writes with <c>--shards N</c>. Then a task killed mid-write and run again.
/// </summary>
[Collection(ProcessTimingCollection.Name)]
public sealed class ShardProcessTests : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    static string Checkpoint => Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", "tiny-llama-trained");

    [Fact]
    public async Task N_task_processes_write_the_single_process_set_byte_for_byte()
    {
        foreach (var n in new[] { 1, 2, 3, 7 })
        {
            // The golden GGUF quantized, and the golden checkpoint converted, by N processes each.
            var tasks = new List<Task<(int Exit, string Out, string Error)>>();
            for (var i = 1; i <= n; i++)
            {
                tasks.Add(RunQuanta("quantize", CliRunner.TinyModel, _dir.File($"q{n}.gguf"), "Q4_K_M", "--shard", $"{i}/{n}", "--threads", "1"));
                tasks.Add(RunQuanta("convert", Checkpoint, "--type", "Q4_K_M", "-o", _dir.File($"c{n}.gguf"), "--shard", $"{i}/{n}", "--threads", "1"));
            }
            foreach (var (exit, _, error) in await Task.WhenAll(tasks))
            {
                Assert.True(exit == 0, error);
            }

            Assert.Equal(0, CliRunner.Run("quantize", CliRunner.TinyModel, _dir.File($"q{n}-one.gguf"), "Q4_K_M", "--shards", $"{n}").ExitCode);
            Assert.Equal(0, CliRunner.Run("convert", Checkpoint, "--type", "Q4_K_M", "-o", _dir.File($"c{n}-one.gguf"), "--shards", $"{n}").ExitCode);
            for (var i = 1; i <= n; i++)
            {
                foreach (var name in new[] { "q", "c" })
                {
                    var shard = $"-{i:D5}-of-{n:D5}.gguf";
                    Assert.True(File.ReadAllBytes(_dir.File($"{name}{n}{shard}")).AsSpan().SequenceEqual(File.ReadAllBytes(_dir.File($"{name}{n}-one{shard}"))), $"{name}{n}{shard}");
                }
            }
            Assert.Equal(0, CliRunner.Run("shard-status", _dir.File($"q{n}")).ExitCode);
            Assert.Equal(0, CliRunner.Run("shard-status", _dir.File($"c{n}")).ExitCode);
        }
        Assert.DoesNotContain(_dir.List(), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_task_killed_mid_write_leaves_its_shard_missing_and_a_rerun_completes_it()
    {
        // A model large enough that IQ3_S on one thread takes seconds after its first tensor, so the kill lands
        // mid-write even when the test host is slow to read the progress line (the 19-tensor fixture finished in
        // 0.4 s and a loaded CI machine once let it complete before the kill arrived).
        var model = _dir.File("synthetic-f16.gguf");
        Quanta.Demo.SyntheticLlamaModel.Write(model, new Quanta.Demo.SyntheticLlamaShape(4, 512, 2048, 8, 8, 256));
        string[] task = ["quantize", model, _dir.File("m.gguf"), "IQ3_S", "--pure", "--shard", "2/2", "--threads", "1"];
        var (exit, _, error) = await RunQuanta([.. task[..2], _dir.File("ref.gguf"), .. task[3..]]);
        Assert.True(exit == 0, error);
        var shard = _dir.File("m-00002-of-00002.gguf");

        // Should the kill still arrive after the task finished, the scenario did not happen: remove the shard, try again.
        for (var attempt = 1; ; attempt++)
        {
            using var process = Start(task);
            // One line per finished tensor on stderr: kill (SIGKILL, no cleanup) after the first.
            var finished = 0;
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                if (line.StartsWith('[') && ++finished == 1)
                {
                    process.Kill();
                    break;
                }
            }
            await process.WaitForExitAsync();
            Assert.Equal(1, finished);
            if (!File.Exists(shard) || attempt == 3)
            {
                break;
            }
            File.Delete(shard);
        }
        Assert.False(File.Exists(shard));
        // SIGKILL left the half-written temporary file; a later writer sweeps it once it is an hour old.
        Assert.Single(_dir.List(), f => f.StartsWith(".m-00002-of-00002.gguf.", StringComparison.Ordinal) && f.EndsWith(".tmp", StringComparison.Ordinal));
        var status = CliRunner.Run("shard-status", _dir.File("m"), "--shards", "2");
        Assert.Contains("m-00002-of-00002.gguf  missing", status.Out);

        (exit, _, error) = await RunQuanta(task);
        Assert.True(exit == 0, error);
        Assert.Equal(File.ReadAllBytes(_dir.File("ref-00002-of-00002.gguf")), File.ReadAllBytes(shard));
        // The retry wrote its own file only: shard 1 was never touched.
        Assert.False(File.Exists(_dir.File("m-00001-of-00002.gguf")));

        // Running it again (a retried task that had in fact succeeded) replaces the shard with the same bytes.
        var before = File.GetLastWriteTimeUtc(shard);
        (exit, _, _) = await RunQuanta(task);
        Assert.Equal(0, exit);
        Assert.Equal(File.ReadAllBytes(_dir.File("ref-00002-of-00002.gguf")), File.ReadAllBytes(shard));
        Assert.True(File.GetLastWriteTimeUtc(shard) >= before);
    }

    static Process Start(params string[] args)
    {
        // dotnet test sets DOTNET_HOST_PATH to the host running the tests; fall back to the one on PATH.
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quanta.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        return process;
    }

    static async Task<(int Exit, string Out, string Error)> RunQuanta(params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
