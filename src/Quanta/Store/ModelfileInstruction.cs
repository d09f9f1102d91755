namespace Quanta.Store;

/// <summary>The instructions a Modelfile may hold (Ollama's list; matched case-insensitively).</summary>
public enum ModelfileCommand
{
    From,
    License,
    Template,
    System,
    Adapter,
    Draft,
    Renderer,
    Parser,
    Parameter,
    Message,
    Requires,
}

/// <summary>
/// One instruction as written: the command, its key (the parameter name of PARAMETER, the role of MESSAGE,
/// otherwise null), its value with quotes removed, and the line it starts on.
/// </summary>
public sealed record ModelfileInstruction(ModelfileCommand Command, string? Key, string Value, int Line = 0)
{
    /// <summary>The command as Ollama's error messages and Modelfiles spell it in lower case.</summary>
    public static string NameOf(ModelfileCommand command) => command.ToString().ToLowerInvariant();

    /// <summary>
    /// The instruction as a Modelfile line: <c>FROM x</c>, <c>PARAMETER name value</c>, <c>MESSAGE role value</c>,
    /// otherwise <c>COMMAND value</c>, the value quoted where it must be to read back the same.
    /// </summary>
    public override string ToString() => Command switch
    {
        ModelfileCommand.From => "FROM " + ModelfileFormatter.Quote(Value),
        ModelfileCommand.Parameter => $"PARAMETER {Key} {ModelfileFormatter.Quote(Value)}",
        ModelfileCommand.Message => $"MESSAGE {Key} {ModelfileFormatter.Quote(Value)}",
        _ => $"{NameOf(Command).ToUpperInvariant()} {ModelfileFormatter.Quote(Value)}",
    };

    public bool Equals(ModelfileInstruction? other) =>
        other is not null && Command == other.Command && Key == other.Key && Value == other.Value;

    public override int GetHashCode() => HashCode.Combine(Command, Key, Value);
}
