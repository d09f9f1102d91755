using Quanta.Templates.Go;

namespace Quanta.Templates.Ollama;

/// <summary>
/// One chat message as an Ollama TEMPLATE sees it (ollama/ollama <c>template/template.go</c>, <c>templateMessage</c>):
/// the property names are the Go field names templates read (<c>.Role</c>, <c>.Content</c>, <c>.ToolCalls</c> ...).
/// </summary>
/// <param name="Role">system, user, assistant or tool.</param>
/// <param name="Content">The text; for a message with images, <see cref="OllamaPrompt.Chat"/> puts their <c>[img-N]</c> tags in it.</param>
public sealed record PromptMessage(string Role, string Content)
{
    /// <summary>What an assistant thought before answering (Ollama's <c>thinking</c>).</summary>
    public string Thinking { get; init; } = "";

    /// <summary>The images attached to the message, as bytes.</summary>
    public IReadOnlyList<byte[]> Images { get; init; } = [];

    /// <summary>The tools an assistant message calls.</summary>
    public IReadOnlyList<PromptToolCall> ToolCalls { get; init; } = [];

    /// <summary>For a tool message: the tool whose result it carries.</summary>
    public string ToolName { get; init; } = "";

    /// <summary>For a tool message: the call it answers.</summary>
    public string ToolCallID { get; init; } = "";

    /// <summary>Go's <c>%v</c> of the struct, which <c>{{ . }}</c> on a message prints.</summary>
    public override string ToString() => GoStruct.Format(Role, Content, Thinking, Images, ToolCalls, ToolName, ToolCallID);
}

/// <summary>A tool call of an assistant message (Ollama's <c>templateToolCall</c>).</summary>
public sealed record PromptToolCall(string ID, PromptToolCallFunction Function)
{
    public override string ToString() => GoStruct.Format(ID, Function);
}

/// <summary>The function a tool call names, with its arguments (Ollama's <c>templateToolCallFunction</c>).</summary>
public sealed record PromptToolCallFunction(int Index, string Name, PromptToolArguments Arguments)
{
    public override string ToString() => GoStruct.Format(Index, Name, Arguments);
}

/// <summary>
/// A tool call's arguments: decoded JSON values by name. It prints as its JSON (keys sorted, as Go marshals a map),
/// which is what <c>{{ .Function.Arguments }}</c> gives in Ollama (<c>templateArgs.String</c>).
/// </summary>
public sealed class PromptToolArguments : Dictionary<string, object?>
{
    public PromptToolArguments()
        : base(StringComparer.Ordinal)
    {
    }

    public override string ToString() => GoJson.Marshal(this) ?? "";
}

/// <summary>Go's <c>%v</c> of a struct: its fields' values in declaration order, space-separated, in braces.</summary>
internal static class GoStruct
{
    public static string Format(params object?[] fields) => "{" + string.Join(' ', fields.Select(GoFormat.Value)) + "}";
}
