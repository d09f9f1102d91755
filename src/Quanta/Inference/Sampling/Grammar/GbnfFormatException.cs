namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// A GBNF grammar that cannot be used: a syntax error (with its line and column), a reference to a rule
/// that is never defined, a missing root rule or left recursion.
/// </summary>
public sealed class GbnfFormatException : Exception
{
    /// <summary>An error without a position.</summary>
    public GbnfFormatException(string message)
        : base(message)
    {
    }

    /// <summary>An error at a 1-based <paramref name="line"/> and <paramref name="column"/> of the grammar text.</summary>
    public GbnfFormatException(string message, int line, int column)
        : base($"{message} at line {line}, column {column}")
    {
        Line = line;
        Column = column;
    }

    /// <summary>An error without a position.</summary>
    public GbnfFormatException()
    {
    }

    /// <summary>An error without a position, wrapping another.</summary>
    public GbnfFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The 1-based line of the error, or 0 when it has no position.</summary>
    public int Line { get; }

    /// <summary>The 1-based column (in characters) of the error, or 0 when it has no position.</summary>
    public int Column { get; }
}
