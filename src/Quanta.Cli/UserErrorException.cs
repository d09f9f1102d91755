namespace Quanta.Cli;

/// <summary>
/// A mistake the user can fix (a missing file, a bad option value). The CLI prints its message as one line
/// and exits with <see cref="ExitCodes.BadInput"/>; no stack trace, since there is no bug to report.
/// </summary>
public sealed class UserErrorException : Exception
{
    public UserErrorException()
    {
    }

    public UserErrorException(string message)
        : base(message)
    {
    }

    public UserErrorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
