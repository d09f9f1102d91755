using System.Diagnostics;
using Xunit;

namespace Quanta.Tests.Cli;

/// <summary>
/// The real executable, with redirected streams: checks what in-process tests cannot, namely Program's
/// wiring, the process exit code, and that a piped stdout gets plain text.
/// </summary>
public sealed class ProcessTests
{
    [Fact]
    public async Task Quanta_Piped_WritesPlainReportAndExitsZero()
    {
        var (exit, stdout, stderr) = await RunQuanta("inspect", CliRunner.TinyModel);

        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        Assert.Matches(@"(?m)^Architecture:\s+llama$", stdout);
        Assert.DoesNotContain('\u001b', stdout);
    }

    [Fact]
    public async Task Quanta_MissingFile_ExitsTwoWithOneLineOnStderr()
    {
        var (exit, stdout, stderr) = await RunQuanta("inspect", "no-such-model.gguf");

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal("error: no-such-model.gguf: file not found", stderr.TrimEnd());
    }

    static async Task<(int Exit, string Out, string Error)> RunQuanta(params string[] args)
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
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
