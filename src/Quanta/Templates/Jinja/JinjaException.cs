namespace Quanta.Templates.Jinja;

/// <summary>
/// A Jinja chat template that cannot be parsed or rendered (a syntax error, an unsupported filter, a
/// <c>raise_exception(...)</c> call). The message is one line naming the template's line and column:
/// <c>jinja template line 3, column 12: Unknown filter: foo</c>.
/// </summary>
public sealed class JinjaException : Exception
{
    public JinjaException()
    {
    }

    public JinjaException(string message)
        : base(message)
    {
        Reason = message;
    }

    public JinjaException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    public JinjaException(string reason, int line, int column)
        : base($"jinja template line {line}, column {column}: {reason}")
    {
        Reason = reason;
        Line = line;
        Column = column;
    }

    /// <summary>The problem without its position (for <c>raise_exception</c>, the template's own message).</summary>
    public string Reason { get; } = "";

    /// <summary>The 1-based line of the template the problem is on; 0 when unknown.</summary>
    public int Line { get; }

    /// <summary>The 1-based column (in UTF-16 chars) the problem is at; 0 when unknown.</summary>
    public int Column { get; }
}

/// <summary>
/// A problem found where no template position is at hand (inside a filter, a comparison); the parser or the
/// interpreter turns it into a <see cref="JinjaException"/> naming the innermost node being evaluated.
/// </summary>
sealed class JinjaError(string message) : Exception(message);
