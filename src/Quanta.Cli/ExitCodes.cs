namespace Quanta.Cli;

/// <summary>
/// Exit codes scripts can rely on. 1 doubles as "something unexpected went wrong", as it does for
/// System.CommandLine and the dotnet CLI; the message (and <c>--verbose</c>) tell the two apart.
/// </summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The command line could not be parsed, or an unexpected (internal) error occurred.</summary>
    public const int Usage = 1;

    /// <summary>The input is missing, unreadable or not what it claims to be.</summary>
    public const int BadInput = 2;

    /// <summary>Interrupted by Ctrl+C: 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;

    /// <summary>Stopped by SIGTERM (a service manager, <c>kill</c>): 128 + 15.</summary>
    public const int Terminated = 143;

    /// <summary>Stopped by SIGHUP (the terminal was closed): 128 + 1.</summary>
    public const int HungUp = 129;
}
