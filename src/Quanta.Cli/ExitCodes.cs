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
}
