namespace Quanta.Templates.Go;

/// <summary>
/// A Go template that cannot be parsed or executed. The message is Go's own, word for word
/// (<c>template: :1: unexpected EOF</c>), so that it reads as Ollama reports the same template.
/// </summary>
public sealed class TemplateException : Exception
{
    public TemplateException()
    {
    }

    public TemplateException(string message)
        : base(message)
    {
    }

    public TemplateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public TemplateException(string message, int line)
        : base(message)
    {
        Line = line;
    }

    /// <summary>The 1-based line of the template the problem is on; 0 when the message names none.</summary>
    public int Line { get; }
}
