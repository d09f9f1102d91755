using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Quanta.Tests.Conversion;
using Xunit;

namespace Quanta.Tests.Cli;

/// <summary>
/// The real executable stopped by SIGINT, SIGTERM and SIGHUP at many moments of quantize, convert, create,
/// gguf split and gguf set: from the instant its handlers are in place, through the creation of the first
/// temporary file, to the end; also by one Ctrl+C delivered twice, and by closing its terminal. Every run must either finish (exit 0, the output complete) or stop as Ctrl+C does (exit 128 +
/// the signal, "cancelled" on stderr, no temporary file, no output, the store as it was). A run that ends any
/// other way (killed by the signal without a word, a file left behind) is the bug this guards against.
/// </summary>
/// <remarks>
/// POSIX signals, Linux's /proc: the test reads the child's caught-signal mask to know when its handlers are
/// in place (a signal before that reaches the runtime's defaults, which Quanta cannot change).
/// </remarks>
[Collection(ProcessTimingCollection.Name)]
public sealed partial class SignalTests : IDisposable
{
    const int SigHup = 1;
    const int SigInt = 2;
    const int SigTerm = 15;

    // Milliseconds after the handlers are in place, each with the next of the three signals in turn (the runs
    // must stay few: each starts a process); then every signal once more at the first temporary file.
    static readonly int[] Offsets = [0, 3, 10, 25, 60, 150];
    const int AtFirstTemporaryFile = -1;
    static readonly int[] Signals = [SigInt, SigTerm, SigHup];

    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int OpenPseudoTerminal(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int GrantPseudoTerminal(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int UnlockPseudoTerminal(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
    private static unsafe partial int PseudoTerminalName(int fd, byte* buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    /// <summary>One command to interrupt: its arguments, where it writes, and what a finished run must have written.</summary>
    sealed record Scenario(string[] Arguments, string WatchDirectory, Func<Snapshot> Prepare, Action<Snapshot> CheckFinished, Action<Snapshot> CheckStopped);

    /// <summary>The files of a directory tree: relative path → length, last write time and SHA-256.</summary>
    sealed record Snapshot(IReadOnlyDictionary<string, string> Files)
    {
        public static Snapshot Of(string root) => new(!Directory.Exists(root)
            ? new Dictionary<string, string>()
            : Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(
                f => Path.GetRelativePath(root, f),
                f => $"{new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f).Ticks} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}"));
    }

    [Theory]
    [InlineData("quantize")]
    [InlineData("convert")]
    [InlineData("create")]
    [InlineData("gguf split")]
    [InlineData("gguf set")]
    public async Task A_signal_at_any_moment_stops_cleanly_or_the_command_finishes(string command)
    {
        var scenario = ScenarioFor(command);
        var stopped = new Dictionary<int, int> { [SigInt] = 0, [SigTerm] = 0, [SigHup] = 0 };
        var failures = new List<string>();
        var runs = Offsets.Select((offset, i) => (offset, Signals[i % Signals.Length]))
            .Concat(Signals.Select(signal => (AtFirstTemporaryFile, signal)));
        foreach (var (offset, signal) in runs)
        {
            var before = scenario.Prepare();
            var (exit, stderr, when) = await RunAndSignal(scenario, signal, offset);
            var lastLine = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            var what = $"{command}, signal {signal} {when}: exit {exit}, last stderr line '{lastLine}'";
            try
            {
                if (exit == 0)
                {
                    scenario.CheckFinished(before);
                }
                else if (exit == 128 + signal)
                {
                    Assert.Equal(signal switch { SigInt => "cancelled", SigTerm => "cancelled (SIGTERM)", _ => "cancelled (SIGHUP)" }, lastLine);
                    scenario.CheckStopped(before);
                    stopped[signal]++;
                }
                else
                {
                    Assert.Fail("neither finished nor stopped cleanly");
                }
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException)
            {
                failures.Add($"{what}: {e.Message}\n{stderr}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        // A test in which every signal came too late would prove nothing.
        Assert.All(stopped, s => Assert.True(s.Value > 0, $"no run of {command} was stopped by signal {s.Key}"));
    }

    [Fact]
    public async Task A_Ctrl_C_delivered_twice_stops_as_one()
    {
        // One Ctrl+C can arrive twice (the terminal signals the process group, a parent forwards it again).
        // Taken as a second request, the copy ended the process at once: exit 130 without "cancelled", and
        // the temporary file just created left behind (0 bytes).
        var scenario = ScenarioFor("quantize");
        for (var run = 0; run < 3; run++)
        {
            var before = scenario.Prepare();
            var (exit, stderr, when) = await RunAndSignal(scenario, SigInt, AtFirstTemporaryFile, twice: true);
            Assert.True(exit is 0 or 128 + SigInt, $"exit {exit} {when}: {stderr}");
            if (exit == 0)
            {
                scenario.CheckFinished(before);
            }
            else
            {
                Assert.EndsWith("\ncancelled", stderr.TrimEnd('\n'), StringComparison.Ordinal);
                scenario.CheckStopped(before);
            }
        }
    }

    [Fact]
    public async Task Closing_the_terminal_stops_as_SIGHUP_does_even_while_the_progress_bar_draws()
    {
        // On a terminal the progress bar is drawn by a thread of its own; once the terminal is closed its
        // writes fail, which ended the process (SIGABRT, a temporary file left) before the command had stopped.
        var scenario = ScenarioFor("quantize");
        var stopped = 0;
        // Under load the small quantization can finish before SIGHUP's handler runs (then it must finish cleanly);
        // run until one is stopped, up to a bound.
        for (var run = 0; run < 10 && stopped == 0; run++)
        {
            var before = scenario.Prepare();
            var (exit, when) = await RunOnTerminalAndHangUp(scenario);
            Assert.True(exit is 0 or 128 + SigHup, $"exit {exit} {when}");
            if (exit == 0)
            {
                scenario.CheckFinished(before);
            }
            else
            {
                scenario.CheckStopped(before);
                stopped++;
            }
        }
        Assert.True(stopped > 0, "every run finished before the terminal was closed");
    }

    /// <summary>
    /// Runs the CLI as the session leader of a new pseudo-terminal (stdin, stdout and stderr on it, so the
    /// progress bar is drawn), closes the terminal when the first temporary file appears, and returns the exit code.
    /// </summary>
    static unsafe Task<(int Exit, string When)> RunOnTerminalAndHangUp(Scenario scenario)
    {
        // Close-on-exec: a copy inherited by the child would keep the terminal open after ours is closed.
        const int ReadWrite = 2, NoControllingTerminal = 0x100, CloseOnExec = 0x80000;
        var master = OpenPseudoTerminal(ReadWrite | NoControllingTerminal | CloseOnExec);
        Assert.True(master >= 0, $"posix_openpt: {Marshal.GetLastPInvokeError()}");
        var closed = false;
        try
        {
            Assert.Equal(0, GrantPseudoTerminal(master));
            Assert.Equal(0, UnlockPseudoTerminal(master));
            var name = new byte[256];
            fixed (byte* buffer = name)
            {
                Assert.Equal(0, PseudoTerminalName(master, buffer, (nuint)name.Length));
            }
            var slave = System.Text.Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0));

            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
            // setsid --ctty: a new session whose controlling terminal is stdin, as a login shell's would be; env gives
            // back the default dispositions a background or nohup'ed test run would otherwise pass down as ignored.
            var start = new ProcessStartInfo("sh") { UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec setsid --ctty env --default-signal=HUP,INT,TERM \"$0\" \"$@\" <\"$TTY\" >\"$TTY\" 2>\"$TTY\"");
            start.ArgumentList.Add(host);
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quanta.dll"));
            foreach (var argument in scenario.Arguments)
            {
                start.ArgumentList.Add(argument);
            }
            start.Environment["TTY"] = slave;
            using var process = Process.Start(start)!;
            var clock = Stopwatch.StartNew();
            while (!process.HasExited && !Directory.EnumerateFileSystemEntries(scenario.WatchDirectory, ".*").Any() && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.SpinWait(100);
            }
            var when = process.HasExited ? "after the process ended" : $"at the first temporary file ({clock.ElapsedMilliseconds} ms)";
            // The last descriptor of the terminal's master side closes: the kernel hangs the terminal up.
            Close(master);
            closed = true;
            process.WaitForExit(TimeSpan.FromMinutes(1));
            return Task.FromResult((process.ExitCode, when));
        }
        finally
        {
            if (!closed)
            {
                Close(master);
            }
        }
    }

    Scenario ScenarioFor(string command)
    {
        var output = _dir.File("out");
        Directory.CreateDirectory(output);
        switch (command)
        {
            case "quantize":
            {
                string[] Arguments(string directory) => [command, CliRunner.TinyModel, Path.Combine(directory, "q.gguf"), "Q4_K_M", "--threads", "1"];
                var reference = Reference(Arguments);
                return new(Arguments(output), output, () => Clear(output), _ => Assert.Equal(reference, Digests(output)), _ => AssertEmpty(output));
            }
            case "convert":
            {
                var checkpoint = _dir.File("tiny-llama");
                TinyCheckpoint.Write("llama", checkpoint);
                string[] Arguments(string directory) => [command, checkpoint, "--type", "Q4_K_M", "-o", Path.Combine(directory, "c.gguf"), "--threads", "1"];
                var reference = Reference(Arguments);
                return new(Arguments(output), output, () => Clear(output), _ => Assert.Equal(reference, Digests(output)), _ => AssertEmpty(output));
            }
            case "create":
            {
                // A store that already holds a model: a stopped create must leave every byte of it as it was.
                var pristine = _dir.File("pristine-store");
                var store = _dir.File("store");
                var modelfile = _dir.File("Modelfile");
                File.WriteAllText(modelfile, $"FROM {CliRunner.TinyModel}\nPARAMETER temperature 0.5\n");
                var created = CliRunner.Run("create", "base", "-f", modelfile, "--store", pristine);
                Assert.True(created.ExitCode == 0, created.Error);
                return new([command, "m", "-f", modelfile, "--store", store, "--quantize", "Q4_K_M", "--threads", "1"], Path.Combine(store, "blobs"),
                    () =>
                    {
                        CopyTree(pristine, store);
                        return Snapshot.Of(store);
                    },
                    before =>
                    {
                        var after = Snapshot.Of(store);
                        Assert.Contains(Path.Combine("manifests", "registry.ollama.ai", "library", "m", "latest"), after.Files.Keys);
                        Assert.All(before.Files, f => Assert.Equal(f.Value, after.Files.GetValueOrDefault(f.Key)));
                        AssertNoTemporaryFiles(store);
                        var shown = CliRunner.Run("show", "m", "--store", store, "--modelfile");
                        Assert.True(shown.ExitCode == 0, shown.Error);
                    },
                    before => Assert.Equal(before.Files, Snapshot.Of(store).Files));
            }
            case "gguf split":
            {
                // Five shards: a stopped split must leave none of them, a finished one all.
                string[] Arguments(string directory) => ["gguf", "split", CliRunner.TinyModel, "--max-tensors", "8", Path.Combine(directory, "s")];
                var reference = Reference(Arguments);
                Assert.Equal(5, reference.Count);
                return new(Arguments(output), output, () => Clear(output), _ => Assert.Equal(reference, Digests(output)), _ => AssertEmpty(output));
            }
            case "gguf set":
            {
                // An edit in place: a stopped one must leave the file byte for byte as it was.
                string[] Arguments(string directory) => ["gguf", "set", Path.Combine(directory, "m.gguf"), "general.name=str:edited"];
                var referenceDirectory = _dir.File("reference-set");
                Directory.CreateDirectory(referenceDirectory);
                File.Copy(CliRunner.TinyModel, Path.Combine(referenceDirectory, "m.gguf"));
                var reference = Reference(Arguments, referenceDirectory);
                return new(Arguments(output), output,
                    () =>
                    {
                        Clear(output);
                        File.Copy(CliRunner.TinyModel, Path.Combine(output, "m.gguf"));
                        return Snapshot.Of(output);
                    },
                    _ => Assert.Equal(reference, Digests(output)),
                    before => Assert.Equal(before.Files, Snapshot.Of(output).Files));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(command), command, null);
        }
    }

    /// <summary>What an uninterrupted run writes (in-process, into a directory of its own).</summary>
    Dictionary<string, string> Reference(Func<string, string[]> arguments, string? directory = null)
    {
        directory ??= _dir.File("reference-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var result = CliRunner.Run(arguments(directory));
        Assert.True(result.ExitCode == 0, result.Error);
        return Digests(directory);
    }

    /// <summary>Each file of a directory (by name) and the SHA-256 of its bytes.</summary>
    static Dictionary<string, string> Digests(string directory) =>
        Directory.EnumerateFiles(directory).ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    static void AssertEmpty(string directory) => Assert.Empty(Directory.EnumerateFileSystemEntries(directory));

    static void AssertNoTemporaryFiles(string store) =>
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(store, "blobs")), f => Path.GetFileName(f).StartsWith('.'));

    static Snapshot Clear(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            File.Delete(file);
        }
        return Snapshot.Of(directory);
    }

    static void CopyTree(string source, string target)
    {
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }
        foreach (var directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, directory)));
        }
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(target, Path.GetRelativePath(source, file));
            File.Copy(file, copy);
            File.SetLastWriteTimeUtc(copy, File.GetLastWriteTimeUtc(file));
        }
    }

    /// <summary>Starts the CLI, waits for its signal handlers and then for the trigger, sends the signal, and collects the result.</summary>
    static async Task<(int Exit, string Error, string When)> RunAndSignal(Scenario scenario, int signal, int offset, bool twice = false)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (IgnoresStopSignals())
        {
            // Started in the background of a non-interactive shell, the tests ignore SIGINT, and so would the
            // child (the runtime respects an inherited SIG_IGN): give it the default dispositions back.
            start.FileName = "env";
            start.ArgumentList.Add("--default-signal=HUP,INT,TERM");
            start.ArgumentList.Add(host);
        }
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quanta.dll"));
        foreach (var argument in scenario.Arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var when = "after the process ended";
        if (WaitForHandlers(process))
        {
            var clock = Stopwatch.StartNew();
            if (offset == AtFirstTemporaryFile)
            {
                while (!process.HasExited && !Directory.EnumerateFileSystemEntries(scenario.WatchDirectory, ".*").Any())
                {
                    Thread.SpinWait(100);
                }
                when = $"at the first temporary file ({clock.Elapsed.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture)} ms after the handlers)";
            }
            else
            {
                while (clock.Elapsed.TotalMilliseconds < offset && !process.HasExited)
                {
                    Thread.Sleep(1);
                }
                when = $"{offset} ms after the handlers";
            }
            if (!process.HasExited)
            {
                Assert.Equal(0, Kill(process.Id, signal));
                if (twice)
                {
                    // Not at once: the same signal pending twice is delivered once.
                    Thread.Sleep(1);
                    Kill(process.Id, signal);
                }
            }
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        await stdout;
        return (process.ExitCode, (await stderr).Replace("\r\n", "\n", StringComparison.Ordinal), when);
    }

    /// <summary>Does this process ignore one of the stop signals (SigIgn in /proc/self/status)?</summary>
    static bool IgnoresStopSignals() => SignalMask("self", "SigIgn:") is { } ignored
        && (ignored & ((1UL << (SigHup - 1)) | (1UL << (SigInt - 1)) | (1UL << (SigTerm - 1)))) != 0;

    /// <summary>A signal mask line of /proc/PID/status, or null when the process is gone.</summary>
    static ulong? SignalMask(string process, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{process}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return ulong.Parse(line.AsSpan(field.Length).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // The process ended (or has not appeared yet).
        }
        return null;
    }

    /// <summary>
    /// Waits until the child catches SIGHUP, INT and TERM (bits 0, 1 and 14 of SigCgt in /proc/PID/status):
    /// Quanta registers SIGHUP last, and the runtime itself catches only SIGTERM before that.
    /// </summary>
    static bool WaitForHandlers(Process process)
    {
        const ulong wanted = (1UL << (SigHup - 1)) | (1UL << (SigInt - 1)) | (1UL << (SigTerm - 1));
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (SignalMask(process.Id.ToString(CultureInfo.InvariantCulture), "SigCgt:") is { } caught && (caught & wanted) == wanted)
            {
                return true;
            }
            if (process.HasExited)
            {
                return false;
            }
            Thread.Sleep(1);
        }
        Assert.Fail("the child never installed its signal handlers");
        return false;
    }
}
