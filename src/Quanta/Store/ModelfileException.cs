namespace Quanta.Store;

/// <summary>
/// A Modelfile that cannot be read: the message names the line (<c>(line 7): ...</c>, as Ollama words it) and
/// what was expected there.
/// </summary>
public sealed class ModelfileException : Exception
{
    public ModelfileException()
    {
    }

    public ModelfileException(string message)
        : base(message)
    {
    }

    public ModelfileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ModelfileException(int line, string message)
        : base(line > 0 ? $"(line {line}): {message}" : message)
    {
        Line = line;
    }

    /// <summary>The 1-based line the problem is on; 0 when it concerns the whole file (no FROM line).</summary>
    public int Line { get; }
}
