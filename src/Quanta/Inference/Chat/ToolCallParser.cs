using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quanta.Templates.Go;

namespace Quanta.Inference.Chat;

/// <summary>A tool call read back out of a model's answer: its place among the answer's calls, the tool, the arguments.</summary>
public sealed record ParsedToolCall(int Index, string Name, JsonObject Arguments);

/// <summary>
/// Finds the tool calls in a streamed answer as Ollama does (ollama/ollama <c>tools/tools.go</c>, <c>Parser</c>; the tag
/// from <c>tools/template.go</c>, <c>parseTag</c>). The tag is the text the template writes before an assistant's tool
/// calls (<c>&lt;tool_call&gt;</c> for Qwen, <c>[TOOL_CALLS]</c> for Mistral), or <c>{</c> when it writes none (the
/// bare JSON of Llama 3.x). Text before the tag is content; after it, each call is a tool's name followed by the first
/// JSON object that holds its arguments: <c>{"name": ..., "arguments"|"parameters": {...}}</c>, <c>{"get_weather":
/// {...}}</c>, or the object itself. With <c>{</c> or <c>[</c> as the tag, only an answer that starts with it (after
/// white space) is read for calls, and parsing ends at the bracket that closes the first one; anything else is content.
/// </summary>
public sealed class ToolCallParser
{
    enum State
    {
        LookingForTag,
        ToolCalling,
        Done,
    }

    readonly string[] _names;
    readonly StringBuilder _buffer = new();
    State _state;
    int _count;

    /// <param name="toolNames">The names of the request's tools.</param>
    /// <param name="tag">What precedes the calls (<see cref="TagOf"/>).</param>
    public ToolCallParser(IEnumerable<string> toolNames, string tag)
    {
        ArgumentNullException.ThrowIfNull(toolNames);
        ArgumentException.ThrowIfNullOrEmpty(tag);
        _names = [.. toolNames];
        Tag = tag;
    }

    /// <summary>The text that starts the tool calls.</summary>
    public string Tag { get; }

    /// <summary>How many calls were found so far.</summary>
    public int Count => _count;

    /// <summary>
    /// Ollama's <c>parseTag</c>: the first text inside the template's <c>{{ if .ToolCalls }}</c> (searched through
    /// <c>if</c>, <c>range</c> and <c>with</c> bodies), trimmed and cut before its first <c>{</c>; <c>{</c> when the
    /// template has no such block (or is not a Go template: a Jinja chat template's model writes bare JSON calls).
    /// </summary>
    public static string TagOf(GoTemplate? template)
    {
        if (template is null || FindToolCallsBlock(template.Root.Nodes) is not { } block || FindText(block.List.Nodes) is not { } text)
        {
            return "{";
        }
        var tag = text.Text.Trim().Replace("\r\n", "\n", StringComparison.Ordinal);
        tag = tag.Split('{')[0].Trim();
        return tag.Length == 0 ? "{" : tag;
    }

    static IfNode? FindToolCallsBlock(IEnumerable<Node> nodes)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case IfNode n when n.Pipe.Commands.Any(c => c.Arguments.Any(a => a is FieldNode f && f.Ident.Contains("ToolCalls"))):
                    return n;
                case BranchNode n:
                    if (FindToolCallsBlock(n.List.Nodes) is { } inBody)
                    {
                        return inBody;
                    }
                    if (n.ElseList is not null && FindToolCallsBlock(n.ElseList.Nodes) is { } inElse)
                    {
                        return inElse;
                    }
                    break;
                case ListNode n:
                    if (FindToolCallsBlock(n.Nodes) is { } inList)
                    {
                        return inList;
                    }
                    break;
            }
        }
        return null;
    }

    /// <summary>The first text, depth first, stopping at the first action (text after the calls is not the tag).</summary>
    static TextNode? FindText(IEnumerable<Node> nodes)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    return text;
                case BranchNode branch:
                    return FindText(branch.List.Nodes) ?? (branch.ElseList is null ? null : FindText(branch.ElseList.Nodes));
                case ListNode list:
                    if (FindText(list.Nodes) is { } found)
                    {
                        return found;
                    }
                    break;
                case ActionNode:
                    return null;
            }
        }
        return null;
    }

    /// <summary>Adds a piece of the answer; returns the calls it completed and the text to show as content.</summary>
    public (IReadOnlyList<ParsedToolCall> Calls, string Content) Add(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_state == State.Done)
        {
            return ([], text);
        }
        _buffer.Append(text);
        var content = "";
        if (_state == State.LookingForTag)
        {
            var buffer = _buffer.ToString();
            var (at, found) = FindTag(buffer);
            if (at == -1)
            {
                content = buffer;
                _buffer.Clear();
            }
            else
            {
                content = buffer[..at];
                _buffer.Clear().Append(buffer, at, buffer.Length - at);
            }
            // With { or [ as the tag, calls are read only from an answer that starts with one.
            if (Tag is "{" or "[" && content.Trim().Length > 0)
            {
                _state = State.Done;
                var all = content + _buffer;
                _buffer.Clear();
                return ([], all);
            }
            if (!found)
            {
                return ([], content);
            }
            _state = State.ToolCalling;
        }

        var calls = new List<ParsedToolCall>();
        while (NextCall() is { } call)
        {
            calls.Add(call);
        }
        if (ClosingBracketSeen())
        {
            _state = State.Done;
            content = _buffer.ToString();
            _buffer.Clear();
        }
        return (calls, content);
    }

    /// <summary>
    /// What is left to show when the answer ends: nothing once a call was found, or when the tag was a word (its text
    /// was meant for the parser); the held-back text when the tag is <c>{</c> or <c>[</c> and no call came of it.
    /// </summary>
    public string Content() => _count > 0 ? "" : Tag is "{" or "[" ? _buffer.ToString() : "";

    (int At, bool Found) FindTag(string buffer)
    {
        var at = buffer.IndexOf(Tag, StringComparison.Ordinal);
        if (at >= 0)
        {
            return (at, true);
        }
        // The end of the buffer may be the start of the tag: hold it back.
        for (var n = Math.Min(buffer.Length, Tag.Length); n > 0; n--)
        {
            if (buffer.AsSpan(buffer.Length - n).SequenceEqual(Tag.AsSpan(0, n)))
            {
                return (buffer.Length - n, false);
            }
        }
        return (-1, false);
    }

    ParsedToolCall? NextCall()
    {
        var buffer = _buffer.ToString();
        var (name, end) = FindTool(buffer);
        if (name is null)
        {
            return null;
        }
        var (arguments, argumentsEnd) = FindArguments(name, buffer);
        if (arguments is null)
        {
            return null;
        }
        end = Math.Max(end, argumentsEnd);
        var call = new ParsedToolCall(_count++, name, arguments);
        _buffer.Remove(0, Math.Min(end, _buffer.Length));
        return call;
    }

    /// <summary>
    /// The tool whose name occurs first in the buffer (the longest at the same place), and where its name ends; none
    /// while the buffer ends with what may be the start of a longer name (<c>get</c> of <c>get_weather</c>).
    /// </summary>
    (string? Name, int End) FindTool(string buffer)
    {
        if (buffer.Length == 0)
        {
            return (null, 0);
        }
        var longest = _names.Length == 0 ? 0 : _names.Max(n => n.Length);
        for (var i = 1; i <= Math.Min(buffer.Length, longest); i++)
        {
            var tail = buffer.AsSpan(buffer.Length - i);
            foreach (var name in _names)
            {
                if (tail.Length < name.Length && name.AsSpan().StartsWith(tail, StringComparison.Ordinal))
                {
                    return (null, 0);
                }
            }
        }
        string? found = null;
        int start = -1, end = -1;
        foreach (var name in _names)
        {
            var at = buffer.IndexOf(name, StringComparison.Ordinal);
            if (at == -1 || start != -1 && (at > start || at == start && name.Length <= found!.Length))
            {
                continue;
            }
            found = name;
            start = at;
            end = at + name.Length;
        }
        return found is null ? (null, 0) : (found, end);
    }

    /// <summary>
    /// Ollama's <c>findArguments</c>: the first balanced JSON object in the buffer (braces inside strings ignored) that
    /// parses; in it, the arguments of a <c>{"name", "arguments"|"parameters"}</c> object (an object, or a string
    /// holding one), or of a member named after the tool, searched depth first; else the object itself. Returns where
    /// the object ends (the index of its closing brace, as Ollama's does).
    /// </summary>
    static (JsonObject? Arguments, int End) FindArguments(string tool, string buffer)
    {
        var start = -1;
        var braces = 0;
        bool inString = false, escaped = false;
        for (var i = 0; i < buffer.Length; i++)
        {
            var c = buffer[i];
            if (escaped)
            {
                escaped = false;
                continue;
            }
            if (c == '\\')
            {
                escaped = true;
                continue;
            }
            if (c == '"')
            {
                inString = !inString;
                continue;
            }
            if (inString)
            {
                continue;
            }
            if (c == '{')
            {
                if (braces == 0)
                {
                    start = i;
                }
                braces++;
            }
            else if (c == '}')
            {
                braces--;
                if (braces == 0 && start != -1)
                {
                    if (ParseObject(buffer[start..(i + 1)]) is not { } data)
                    {
                        start = -1;
                        continue;
                    }
                    var (arguments, found) = FindObject(tool, data);
                    // A call object without arguments gives no call (Ollama's TODO: all-optional parameters).
                    return found ? (arguments, i) : (data, i);
                }
                braces = Math.Max(braces, 0);
            }
        }
        return (null, 0);
    }

    static (JsonObject? Arguments, bool Found) FindObject(string tool, JsonObject obj)
    {
        if (obj.ContainsKey("name"))
        {
            if (Map("arguments", obj) is { } arguments)
            {
                return (arguments, true);
            }
            return (Map("parameters", obj), true);
        }
        if (Map(tool, obj) is { } named)
        {
            return (named, true);
        }
        foreach (var (_, value) in obj)
        {
            switch (value)
            {
                case JsonObject child when FindObject(tool, child) is { Found: true } result:
                    return result;
                case JsonArray items:
                    foreach (var item in items)
                    {
                        if (item is JsonObject itemObject && FindObject(tool, itemObject) is { Found: true } itemResult)
                        {
                            return itemResult;
                        }
                    }
                    break;
            }
        }
        return (null, false);
    }

    /// <summary>The member <paramref name="name"/> as an object, or as a string holding one's JSON.</summary>
    static JsonObject? Map(string name, JsonObject obj) => obj[name] switch
    {
        JsonObject value => (JsonObject)value.DeepClone(),
        JsonValue value when value.GetValueKind() == JsonValueKind.String => ParseObject(value.GetValue<string>()),
        _ => null,
    };

    static JsonObject? ParseObject(string json)
    {
        try
        {
            var parsed = JsonNode.Parse(json) as JsonObject;
            _ = parsed?.Count; // materialises the members, where a repeated key throws
            return parsed;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            // Not JSON, or an object with a repeated key: not a call.
            return null;
        }
    }

    /// <summary>Ollama's <c>done</c>: with <c>{</c> or <c>[</c> as the tag, the bracket that closes the first one is in the buffer.</summary>
    bool ClosingBracketSeen()
    {
        var (open, close) = Tag switch
        {
            "{" => ('{', '}'),
            "[" => ('[', ']'),
            _ => ('\0', '\0'),
        };
        if (open == '\0')
        {
            return false;
        }
        var depth = 0;
        for (var i = 0; i < _buffer.Length; i++)
        {
            if (_buffer[i] == open)
            {
                depth++;
            }
            else if (_buffer[i] == close && --depth == 0)
            {
                return true;
            }
        }
        return false;
    }
}
