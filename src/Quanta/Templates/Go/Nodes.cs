using System.Numerics;
using System.Text;

namespace Quanta.Templates.Go;

/// <summary>
/// A node of a parsed Go template (Go's <c>text/template/parse</c> node types). <see cref="ToString"/> gives the
/// node back as template text exactly as Go's <c>Node.String</c> writes it, which is how the tests compare a tree
/// with the one Go builds.
/// </summary>
public abstract class Node
{
    private protected Node(int position)
    {
        Position = position;
    }

    /// <summary>Where the node starts in the template text (a char index).</summary>
    public int Position { get; }

    internal abstract void WriteTo(StringBuilder sb);

    public override string ToString()
    {
        var sb = new StringBuilder();
        WriteTo(sb);
        return sb.ToString();
    }
}

/// <summary>A sequence of nodes: a template body, or the body of an if, range or with.</summary>
public sealed class ListNode(int position) : Node(position)
{
    readonly List<Node> _nodes = [];

    public IReadOnlyList<Node> Nodes => _nodes;

    internal void Add(Node node) => _nodes.Add(node);

    internal override void WriteTo(StringBuilder sb)
    {
        foreach (var node in _nodes)
        {
            node.WriteTo(sb);
        }
    }
}

/// <summary>Plain text, already trimmed where <c>{{-</c> or <c>-}}</c> asked.</summary>
public sealed class TextNode(int position, string text) : Node(position)
{
    public string Text { get; } = text;

    internal override void WriteTo(StringBuilder sb) => sb.Append(Text);
}

/// <summary>A pipeline: optional variable declarations (or assignments), then commands separated by <c>|</c>.</summary>
public sealed class PipeNode(int position, int line) : Node(position)
{
    readonly List<VariableNode> _declarations = [];
    readonly List<CommandNode> _commands = [];

    public int Line { get; } = line;

    /// <summary>True for <c>$x = ...</c> (assign an existing variable), false for <c>$x := ...</c>.</summary>
    public bool IsAssign { get; internal set; }

    public IReadOnlyList<VariableNode> Declarations => _declarations;

    public IReadOnlyList<CommandNode> Commands => _commands;

    internal void AddDeclaration(VariableNode variable) => _declarations.Add(variable);

    internal void AddCommand(CommandNode command) => _commands.Add(command);

    internal override void WriteTo(StringBuilder sb)
    {
        if (_declarations.Count > 0)
        {
            for (var i = 0; i < _declarations.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(", ");
                }
                _declarations[i].WriteTo(sb);
            }
            // Go writes ":=" for assignments too.
            sb.Append(" := ");
        }
        for (var i = 0; i < _commands.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(" | ");
            }
            _commands[i].WriteTo(sb);
        }
    }
}

/// <summary>An action that prints its pipeline's value: <c>{{ .Content }}</c>.</summary>
public sealed class ActionNode(int position, int line, PipeNode pipe) : Node(position)
{
    public int Line { get; } = line;

    public PipeNode Pipe { get; } = pipe;

    internal override void WriteTo(StringBuilder sb)
    {
        sb.Append("{{");
        Pipe.WriteTo(sb);
        sb.Append("}}");
    }
}

/// <summary>One command of a pipeline: a function, method or value and its arguments.</summary>
public sealed class CommandNode(int position) : Node(position)
{
    readonly List<Node> _arguments = [];

    public IReadOnlyList<Node> Arguments => _arguments;

    internal void Add(Node argument) => _arguments.Add(argument);

    internal override void WriteTo(StringBuilder sb)
    {
        for (var i = 0; i < _arguments.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }
            if (_arguments[i] is PipeNode pipe)
            {
                sb.Append('(');
                pipe.WriteTo(sb);
                sb.Append(')');
                continue;
            }
            _arguments[i].WriteTo(sb);
        }
    }
}

/// <summary>A function name: <c>printf</c>, <c>json</c>.</summary>
public sealed class IdentifierNode(int position, string name) : Node(position)
{
    public string Name { get; } = name;

    internal override void WriteTo(StringBuilder sb) => sb.Append(Name);
}

/// <summary>A variable and the fields read from it: <c>$</c>, <c>$x</c>, <c>$.Messages</c> (Ident <c>["$", "Messages"]</c>).</summary>
public sealed class VariableNode(int position, string text) : Node(position)
{
    public IReadOnlyList<string> Ident { get; } = text.Split('.');

    internal override void WriteTo(StringBuilder sb) => sb.AppendJoin('.', Ident);
}

/// <summary>The cursor, <c>.</c>.</summary>
public sealed class DotNode(int position) : Node(position)
{
    internal override void WriteTo(StringBuilder sb) => sb.Append('.');
}

/// <summary>The untyped <c>nil</c>.</summary>
public sealed class NilNode(int position) : Node(position)
{
    internal override void WriteTo(StringBuilder sb) => sb.Append("nil");
}

/// <summary>Fields of the cursor: <c>.Function.Name</c> (Ident <c>["Function", "Name"]</c>).</summary>
public sealed class FieldNode(int position, string text) : Node(position)
{
    public IReadOnlyList<string> Ident { get; } = text[1..].Split('.');

    internal override void WriteTo(StringBuilder sb)
    {
        foreach (var name in Ident)
        {
            sb.Append('.').Append(name);
        }
    }
}

/// <summary>Fields read from a term that is neither the cursor nor a variable: <c>(index .Messages 0).Role</c>.</summary>
public sealed class ChainNode(int position, Node node) : Node(position)
{
    readonly List<string> _fields = [];

    public Node Node { get; } = node;

    public IReadOnlyList<string> Fields => _fields;

    internal void Add(string field) => _fields.Add(field[1..]);

    internal override void WriteTo(StringBuilder sb)
    {
        if (Node is PipeNode)
        {
            sb.Append('(');
            Node.WriteTo(sb);
            sb.Append(')');
        }
        else
        {
            Node.WriteTo(sb);
        }
        foreach (var field in _fields)
        {
            sb.Append('.').Append(field);
        }
    }
}

/// <summary><c>true</c> or <c>false</c>.</summary>
public sealed class BoolNode(int position, bool value) : Node(position)
{
    public bool Value { get; } = value;

    internal override void WriteTo(StringBuilder sb) => sb.Append(Value ? "true" : "false");
}

/// <summary>
/// A number constant, with every Go type it fits, as Go keeps it: <c>1</c> is an int, a uint and a float; <c>1.5</c>
/// only a float; a character constant <c>'a'</c> is all three.
/// </summary>
public sealed class NumberNode : Node
{
    internal NumberNode(int position, string text)
        : base(position)
    {
        Text = text;
    }

    public string Text { get; }

    public bool IsInt { get; internal set; }

    public bool IsUint { get; internal set; }

    public bool IsFloat { get; internal set; }

    public bool IsComplex { get; internal set; }

    public long Int64 { get; internal set; }

    public ulong UInt64 { get; internal set; }

    public double Float64 { get; internal set; }

    public Complex Complex128 { get; internal set; }

    internal override void WriteTo(StringBuilder sb) => sb.Append(Text);
}

/// <summary>A string constant: <see cref="Quoted"/> as written, <see cref="Text"/> its value.</summary>
public sealed class StringNode(int position, string quoted, string text) : Node(position)
{
    public string Quoted { get; } = quoted;

    public string Text { get; } = text;

    internal override void WriteTo(StringBuilder sb) => sb.Append(Quoted);
}

/// <summary><c>{{end}}</c>: only seen while parsing, never in a finished tree.</summary>
internal sealed class EndNode(int position) : Node(position)
{
    internal override void WriteTo(StringBuilder sb) => sb.Append("{{end}}");
}

/// <summary><c>{{else}}</c>: only seen while parsing, never in a finished tree.</summary>
internal sealed class ElseNode(int position, int line) : Node(position)
{
    public int Line { get; } = line;

    internal override void WriteTo(StringBuilder sb) => sb.Append("{{else}}");
}

/// <summary>What <c>if</c>, <c>range</c> and <c>with</c> share: a pipeline, a body and an optional else body.</summary>
public abstract class BranchNode : Node
{
    private protected BranchNode(int position, int line, PipeNode pipe, ListNode list, ListNode? elseList)
        : base(position)
    {
        Line = line;
        Pipe = pipe;
        List = list;
        ElseList = elseList;
    }

    public int Line { get; }

    public PipeNode Pipe { get; }

    public ListNode List { get; }

    /// <summary>The <c>{{else}}</c> body; for <c>{{else if}}</c> / <c>{{else with}}</c> a list holding the nested branch.</summary>
    public ListNode? ElseList { get; }

    private protected abstract string Keyword { get; }

    internal override void WriteTo(StringBuilder sb)
    {
        sb.Append("{{").Append(Keyword).Append(' ');
        Pipe.WriteTo(sb);
        sb.Append("}}");
        List.WriteTo(sb);
        if (ElseList is not null)
        {
            sb.Append("{{else}}");
            ElseList.WriteTo(sb);
        }
        sb.Append("{{end}}");
    }
}

/// <summary><c>{{if pipeline}} ... {{else}} ... {{end}}</c>.</summary>
public sealed class IfNode(int position, int line, PipeNode pipe, ListNode list, ListNode? elseList)
    : BranchNode(position, line, pipe, list, elseList)
{
    private protected override string Keyword => "if";
}

/// <summary><c>{{range pipeline}} ... {{else}} ... {{end}}</c>, with up to two declared variables.</summary>
public sealed class RangeNode(int position, int line, PipeNode pipe, ListNode list, ListNode? elseList)
    : BranchNode(position, line, pipe, list, elseList)
{
    private protected override string Keyword => "range";
}

/// <summary><c>{{with pipeline}} ... {{else}} ... {{end}}</c>.</summary>
public sealed class WithNode(int position, int line, PipeNode pipe, ListNode list, ListNode? elseList)
    : BranchNode(position, line, pipe, list, elseList)
{
    private protected override string Keyword => "with";
}

/// <summary><c>{{break}}</c> inside a range.</summary>
public sealed class BreakNode(int position, int line) : Node(position)
{
    public int Line { get; } = line;

    internal override void WriteTo(StringBuilder sb) => sb.Append("{{break}}");
}

/// <summary><c>{{continue}}</c> inside a range.</summary>
public sealed class ContinueNode(int position, int line) : Node(position)
{
    public int Line { get; } = line;

    internal override void WriteTo(StringBuilder sb) => sb.Append("{{continue}}");
}

/// <summary><c>{{template "name" pipeline}}</c> (also what <c>{{block}}</c> leaves in its place).</summary>
public sealed class TemplateNode(int position, int line, string name, PipeNode? pipe) : Node(position)
{
    public int Line { get; } = line;

    public string Name { get; } = name;

    public PipeNode? Pipe { get; } = pipe;

    internal override void WriteTo(StringBuilder sb)
    {
        sb.Append("{{template ").Append(GoSyntax.Quote(Name));
        if (Pipe is not null)
        {
            sb.Append(' ');
            Pipe.WriteTo(sb);
        }
        sb.Append("}}");
    }
}
