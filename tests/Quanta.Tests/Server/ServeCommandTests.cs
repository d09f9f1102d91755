using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Quanta.Tests.Cli;
using Xunit;

namespace Quanta.Tests.Server;

/// <summary>
/// <c>quanta serve</c> as a process: listens on QUANTA_HOST, serves QUANTA_MODELS, logs on stderr (stdout stays empty),
/// and stops gracefully with exit code 0 on SIGTERM and on Ctrl+C (SIGINT).
/// </summary>
[Collection(ProcessTimingCollection.Name)]
public sealed partial class ServeCommandTests
{
    const int SigInt = 2;
    const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [Theory]
    [InlineData(SigTerm)]
    [InlineData(SigInt)]
    public async Task Serves_QUANTA_MODELS_on_QUANTA_HOST_and_a_signal_stops_it_with_exit_code_0(int signal)
    {
        using var dir = new TempDirectory();
        var store = dir.File("models");
        var port = FreePort();
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        // Through env, with the default dispositions: a test run started in the background (or under nohup) ignores
        // SIGINT and SIGHUP, and the runtime keeps a signal its parent ignored ignored.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--default-signal=HUP,INT,TERM");
        start.ArgumentList.Add(host);
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quanta.dll"));
        start.ArgumentList.Add("serve");
        start.Environment["QUANTA_HOST"] = $"127.0.0.1:{port}";
        start.Environment["QUANTA_MODELS"] = store;
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var listening = new TaskCompletionSource();
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
            if (e.Data?.Contains("Quanta is listening on", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult();
            }
        };
        process.BeginErrorReadLine();
        try
        {
            await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            Assert.Equal("Quanta is running", await http.GetStringAsync("/"));
            Assert.Equal("""{"models":[]}""", await http.GetStringAsync("/api/tags"));

            Assert.Equal(0, Kill(process.Id, signal));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        Assert.Equal(0, process.ExitCode);
        Assert.Equal("", await stdout);
        string log;
        lock (stderr)
        {
            log = stderr.ToString();
        }
        Assert.Contains($"msg=\"Quanta is listening on http://127.0.0.1:{port} (store {store}, Ollama API 0.33.0)\"", log, StringComparison.Ordinal);
        Assert.Contains("status=200 method=GET path=/api/tags", log, StringComparison.Ordinal);
        Assert.Contains("msg=\"Quanta stopped\"", log, StringComparison.Ordinal);
        Assert.DoesNotContain("cancelled", log, StringComparison.Ordinal);
    }

    [Fact]
    public void An_address_in_use_is_one_error_line_and_exit_2()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var dir = new TempDirectory();

        var result = CliRunner.Run("serve", "--host", $"127.0.0.1:{port}", "--store", dir.File("models"));

        Assert.Equal(2, result.ExitCode);
        var error = result.ErrorLines.Single(l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith($"error: cannot listen on http://127.0.0.1:{port}: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
