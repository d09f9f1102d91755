using System.CommandLine;
using Quanta.Cli;

namespace Quanta.Tests.Cli;

/// <summary>What one in-process run of the CLI printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Runs the CLI in-process against string writers; no console, no child process.</summary>
internal static class CliRunner
{
    public static string TinyModel => Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", "tiny-llama-f16.gguf");

    public static CliResult Run(params string[] args) => Run(false, CancellationToken.None, null, args);

    public static CliResult RunAsTerminal(params string[] args) => Run(true, CancellationToken.None, null, args);

    public static CliResult Run(bool terminal, CancellationToken cancellationToken, Func<CliContext, Command>? extraVerb, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr, OutIsTerminal: terminal);
        var exit = extraVerb is null
            ? Quanta.Cli.Cli.RunAsync(args, context, cancellationToken).GetAwaiter().GetResult()
            : Quanta.Cli.Cli.RunAsync(args, context, [extraVerb], cancellationToken).GetAwaiter().GetResult();
        return new CliResult(exit, stdout.ToString(), stderr.ToString().Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
