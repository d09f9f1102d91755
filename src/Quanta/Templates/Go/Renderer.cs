using System.Collections;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Quanta.Templates.Go;

/// <summary>
/// Executes a parsed template as Go's <c>text/template/exec.go</c> does with <c>missingkey=zero</c>: the cursor
/// (<c>.</c>), variables and their scopes, pipelines with the previous command's value as the last argument,
/// <c>if</c>/<c>with</c> truth, <c>range</c> over lists, maps (in key order) and integers with <c>break</c>/<c>continue</c>,
/// <c>template</c> calls, and Go's error messages (<c>template: :1:3: executing "" at &lt;.A.B&gt;: ...</c>).
/// </summary>
internal sealed class Renderer
{
    const int MaxTemplateDepth = 100000;

    /// <summary>"No value came from a previous command" (Go's <c>missingVal</c>), as opposed to a nil value.</summary>
    static readonly object NoFinal = new();

    readonly GoTemplate _template;
    readonly IReadOnlyDictionary<string, TemplateFunction> _functions;
    readonly StringBuilder _output = new();
    readonly object? _data;
    bool _dotIsConcrete = true; // false while dot is a range element (an interface {} in Go)
    List<(string Name, object? Value)> _vars;
    string _treeName;
    Node? _node;
    int _depth;

    enum Flow { Normal, Break, Continue }

    Renderer(GoTemplate template, IReadOnlyDictionary<string, TemplateFunction> functions, object? data)
    {
        _template = template;
        _functions = functions;
        _treeName = template.Name;
        _data = data;
        _vars = [("$", data)];
    }

    /// <exception cref="TemplateException">Execution failed; the message is Go's.</exception>
    public static string Render(GoTemplate template, IReadOnlyDictionary<string, TemplateFunction> functions, object? data)
    {
        var renderer = new Renderer(template, functions, data);
        renderer.Walk(data, template.Root);
        return renderer._output.ToString();
    }

    // Errors.

    TemplateException Error(string message)
    {
        if (_node is null)
        {
            return new TemplateException($"template: {_treeName}: {message}");
        }
        var text = _template.Text;
        var position = Math.Min(_node.Position, text.Length);
        var lineStart = text.LastIndexOf('\n', Math.Max(position - 1, 0)) + 1;
        if (position == 0)
        {
            lineStart = 0;
        }
        var line = 1 + text.AsSpan(0, position).Count('\n');
        var column = Encoding.UTF8.GetByteCount(text.AsSpan(lineStart, position - lineStart));
        return new TemplateException($"template: {_template.Name}:{line}:{column}: executing {GoSyntax.Quote(_treeName)} at <{_node}>: {message}", line);
    }

    // Variables.

    int Mark() => _vars.Count;

    void Pop(int mark) => _vars.RemoveRange(mark, _vars.Count - mark);

    void Push(string name, object? value) => _vars.Add((name, value));

    void SetVar(string name, object? value)
    {
        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == name)
            {
                _vars[i] = (name, value);
                return;
            }
        }
        throw Error($"undefined variable: {name}");
    }

    /// <summary>Sets the n-th variable from the top (1 is the top).</summary>
    void SetTopVar(int n, object? value) => _vars[^n] = (_vars[^n].Name, value);

    object? VarValue(string name)
    {
        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == name)
            {
                return _vars[i].Value;
            }
        }
        throw Error($"undefined variable: {name}");
    }

    // Statements.

    Flow Walk(object? dot, Node node)
    {
        switch (node)
        {
            case ActionNode action:
                // Variables declared by an action persist to the next {{end}}; such an action prints nothing.
                var value = EvalPipeline(dot, action.Pipe);
                if (action.Pipe.Declarations.Count == 0)
                {
                    _node = action;
                    _output.Append(ReferenceEquals(value, GoValues.Invalid) ? "<no value>" : GoFormat.Value(value));
                }
                return Flow.Normal;
            case BreakNode:
                return Flow.Break;
            case ContinueNode:
                return Flow.Continue;
            case IfNode branch:
                return WalkIfOrWith(dot, branch, with: false);
            case WithNode branch:
                return WalkIfOrWith(dot, branch, with: true);
            case ListNode list:
                foreach (var child in list.Nodes)
                {
                    var flow = Walk(dot, child);
                    if (flow != Flow.Normal)
                    {
                        return flow;
                    }
                }
                return Flow.Normal;
            case RangeNode range:
                WalkRange(dot, range);
                return Flow.Normal;
            case TemplateNode call:
                WalkTemplate(dot, call);
                return Flow.Normal;
            case TextNode text:
                _output.Append(text.Text);
                return Flow.Normal;
            default:
                _node = node;
                throw Error($"unknown node: {node}");
        }
    }

    Flow WalkIfOrWith(object? dot, BranchNode branch, bool with)
    {
        var mark = Mark();
        try
        {
            var value = EvalPipeline(dot, branch.Pipe);
            if (GoValues.IsTrue(value))
            {
                return Walk(with ? value : dot, branch.List);
            }
            return branch.ElseList is null ? Flow.Normal : Walk(dot, branch.ElseList);
        }
        finally
        {
            Pop(mark);
        }
    }

    void WalkRange(object? dot, RangeNode range)
    {
        _node = range;
        var mark = Mark();
        try
        {
            var value = EvalPipeline(dot, range.Pipe);
            var bodyMark = Mark();
            var declared = range.Pipe.Declarations.Count;
            var iterated = false;
            // One iteration: the element (and the index or key) into the declared variables, then the body.
            bool Iterate(object? index, object? element)
            {
                iterated = true;
                if (declared > 0)
                {
                    SetTopVar(1, element);
                }
                if (declared > 1)
                {
                    SetTopVar(2, index);
                }
                var dotWasConcrete = _dotIsConcrete;
                _dotIsConcrete = false;
                try
                {
                    return Walk(element, range.List) != Flow.Break;
                }
                finally
                {
                    _dotIsConcrete = dotWasConcrete;
                    Pop(bodyMark);
                }
            }
            switch (GoValues.KindOf(value))
            {
                case GoValues.Kind.Slice:
                    var list = (IList)value!;
                    for (var i = 0; i < list.Count && Iterate((long)i, list[i]); i++)
                    {
                    }
                    break;
                case GoValues.Kind.Map:
                    foreach (var (key, element) in GoValues.SortedEntries((IDictionary)value!))
                    {
                        if (!Iterate(key, element))
                        {
                            break;
                        }
                    }
                    break;
                case GoValues.Kind.Int or GoValues.Kind.Uint:
                    // Go 1.22 ranges over an integer: 0, 1, ... n-1, one variable at most.
                    if (declared > 1)
                    {
                        throw Error($"can't use {GoFormat.Value(value)} to iterate over more than one variable");
                    }
                    var count = GoValues.ToInt64(value!);
                    for (var i = 0L; i < count && Iterate(i, i); i++)
                    {
                    }
                    break;
                case GoValues.Kind.Invalid or GoValues.Kind.Nil:
                    break;
                default:
                    throw Error($"range can't iterate over {GoFormat.Value(value)}");
            }
            if (!iterated && range.ElseList is not null)
            {
                Walk(dot, range.ElseList);
            }
        }
        finally
        {
            Pop(mark);
        }
    }

    void WalkTemplate(object? dot, TemplateNode call)
    {
        _node = call;
        if (!_template.Trees.TryGetValue(call.Name, out var tree))
        {
            throw Error($"template {GoSyntax.Quote(call.Name)} not defined");
        }
        if (_depth == MaxTemplateDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw Error($"exceeded maximum template depth ({MaxTemplateDepth})");
        }
        var newDot = EvalPipeline(dot, call.Pipe);
        var (vars, treeName) = (_vars, _treeName);
        // No dynamic scoping: the called template sees only $, its dot.
        _vars = [("$", newDot)];
        _treeName = call.Name;
        _depth++;
        try
        {
            Walk(newDot, tree);
        }
        finally
        {
            _depth--;
            (_vars, _treeName) = (vars, treeName);
        }
    }

    // Expressions.

    object? EvalPipeline(object? dot, PipeNode? pipe)
    {
        if (pipe is null)
        {
            return GoValues.Invalid;
        }
        _node = pipe;
        var value = NoFinal;
        foreach (var command in pipe.Commands)
        {
            value = EvalCommand(dot, command, value);
            // A nil interface value becomes "no value" (Go digs into interface{} values here).
            value ??= GoValues.Invalid;
        }
        foreach (var variable in pipe.Declarations)
        {
            if (pipe.IsAssign)
            {
                SetVar(variable.Ident[0], value);
            }
            else
            {
                Push(variable.Ident[0], value);
            }
        }
        return value;
    }

    object? EvalCommand(object? dot, CommandNode command, object? final)
    {
        var first = command.Arguments[0];
        switch (first)
        {
            case FieldNode field:
                _node = field;
                return EvalFieldChain(dot, dot, field, field.Ident, command.Arguments, final);
            case ChainNode chain:
                return EvalChainNode(dot, chain, command.Arguments, final);
            case IdentifierNode identifier:
                return EvalFunction(dot, identifier, command, command.Arguments, final);
            case PipeNode pipe:
                NotAFunction(command.Arguments, final);
                return EvalPipeline(dot, pipe);
            case VariableNode variable:
                return EvalVariableNode(dot, variable, command.Arguments, final);
        }
        _node = first;
        NotAFunction(command.Arguments, final);
        return first switch
        {
            BoolNode b => b.Value,
            DotNode => dot,
            NilNode => throw Error("nil is not a command"),
            NumberNode n => IdealConstant(n),
            StringNode s => s.Text,
            _ => throw Error($"can't evaluate command {GoSyntax.Quote(first.ToString())}"),
        };
    }

    void NotAFunction(IReadOnlyList<Node> arguments, object? final)
    {
        if (arguments.Count > 1 || !ReferenceEquals(final, NoFinal))
        {
            throw Error($"can't give argument to non-function {arguments[0]}");
        }
    }

    /// <summary>An untyped constant as Go gives it to a command: int unless it is written as a float or is complex.</summary>
    object IdealConstant(NumberNode n)
    {
        _node = n;
        var text = n.Text;
        var hexInt = text.Length > 2 && text[0] == '0' && text[1] is 'x' or 'X' && text.AsSpan().IndexOfAny("pP") < 0;
        var runeInt = text.Length > 0 && text[0] == '\'';
        if (n.IsComplex)
        {
            return n.Complex128;
        }
        if (n.IsFloat && !hexInt && !runeInt && text.AsSpan().IndexOfAny(".eEpP") >= 0)
        {
            return n.Float64;
        }
        if (n.IsInt)
        {
            return n.Int64;
        }
        if (n.IsUint)
        {
            throw Error($"{text} overflows int");
        }
        return GoValues.Invalid;
    }

    object? EvalVariableNode(object? dot, VariableNode variable, IReadOnlyList<Node>? arguments, object? final)
    {
        _node = variable;
        var value = VarValue(variable.Ident[0]);
        if (variable.Ident.Count == 1)
        {
            NotAFunction(arguments ?? [variable], final);
            return value;
        }
        return EvalFieldChain(dot, value, variable, variable.Ident.Skip(1).ToList(), arguments, final);
    }

    object? EvalChainNode(object? dot, ChainNode chain, IReadOnlyList<Node>? arguments, object? final)
    {
        _node = chain;
        if (chain.Node is NilNode)
        {
            throw Error($"indirection through explicit nil in {chain}");
        }
        var receiver = EvalArg(dot, ParameterKind.Untyped, chain.Node);
        return EvalFieldChain(dot, receiver, chain, chain.Fields, arguments, final);
    }

    object? EvalFieldChain(object? dot, object? receiver, Node node, IReadOnlyList<string> names, IReadOnlyList<Node>? arguments, object? final)
    {
        // Go names the receiver's static type in errors: a value read from a map or a list is an interface {}.
        var concrete = !ReferenceEquals(receiver, dot) || ReferenceEquals(dot, _data) || _dotIsConcrete;
        for (var i = 0; i < names.Count - 1; i++)
        {
            receiver = EvalField(names[i], null, NoFinal, receiver, concrete);
            concrete = false;
        }
        return EvalField(names[^1], arguments, final, receiver, concrete);
    }

    object? EvalField(string name, IReadOnlyList<Node>? arguments, object? final, object? receiver, bool concrete)
    {
        if (ReferenceEquals(receiver, GoValues.Invalid))
        {
            return GoValues.Invalid; // missingkey=zero: no data, no error
        }
        if (receiver is null)
        {
            throw Error($"nil pointer evaluating interface {{}}.{name}");
        }
        var hasArguments = arguments?.Count > 1 || !ReferenceEquals(final, NoFinal);
        switch (receiver)
        {
            case IDictionary map:
                if (hasArguments)
                {
                    throw Error($"{name} is not a method but has arguments");
                }
                return map.Contains(name) ? map[name] : ZeroOfElement(map);
            case string or IList or bool or Complex:
            case var _ when GoValues.KindOf(receiver) is GoValues.Kind.Int or GoValues.Kind.Uint or GoValues.Kind.Float:
                break;
            default:
                if (GoValues.TryGetProperty(receiver, name, out var property))
                {
                    return hasArguments ? throw Error($"{name} has arguments but cannot be invoked as function") : property;
                }
                break;
        }
        throw Error($"can't evaluate field {name} in type {(concrete ? GoValues.TypeName(receiver) : "interface {}")}");
    }

    /// <summary>What a missing key yields with missingkey=zero: the zero value of the map's element type.</summary>
    static object? ZeroOfElement(IDictionary map)
    {
        var dictionary = map.GetType().GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        var element = dictionary?.GetGenericArguments()[1];
        return element == typeof(string) ? "" : element is { IsValueType: true } ? Activator.CreateInstance(element) : null;
    }

    object? EvalFunction(object? dot, IdentifierNode identifier, Node callNode, IReadOnlyList<Node>? arguments, object? final)
    {
        _node = identifier;
        var name = identifier.Name;
        if (!_functions.TryGetValue(name, out var function))
        {
            throw Error($"{GoSyntax.Quote(name)} is not a defined function");
        }
        return EvalCall(dot, function, callNode, name, arguments, final);
    }

    object? EvalCall(object? dot, TemplateFunction function, Node callNode, string name, IReadOnlyList<Node>? arguments, object? final)
    {
        var actual = arguments is null ? [] : arguments.Skip(1).ToList();
        var hasFinal = !ReferenceEquals(final, NoFinal);
        var count = actual.Count + (hasFinal ? 1 : 0);
        var fixedCount = function.Parameters.Count;
        if (function.Variadic is null && count != fixedCount)
        {
            throw Error($"wrong number of args for {name}: want {fixedCount} got {count}");
        }
        if (function.Variadic is not null && count < fixedCount)
        {
            throw Error($"wrong number of args for {name}: want at least {fixedCount} got {actual.Count}");
        }
        if (function.ShortCircuit is { } stopWhen)
        {
            // and / or: evaluate left to right, stop at the first value whose truth decides.
            object? value = GoValues.Invalid;
            foreach (var argument in actual)
            {
                value = EvalArg(dot, ParameterKind.Value, argument);
                if (GoValues.IsTrue(value) == stopWhen)
                {
                    return value;
                }
            }
            return hasFinal ? ValidateType(final, ParameterKind.Value) : value;
        }
        var values = new List<object?>(count);
        for (var i = 0; i < actual.Count; i++)
        {
            values.Add(EvalArg(dot, i < fixedCount ? function.Parameters[i] : function.Variadic!.Value, actual[i]));
        }
        if (hasFinal)
        {
            values.Add(ValidateType(final, count - 1 < fixedCount ? function.Parameters[count - 1] : function.Variadic!.Value));
        }
        try
        {
            return function.Invoke(values);
        }
        catch (TemplateFunctionException e)
        {
            _node = callNode;
            throw Error($"error calling {name}: {e.Message}");
        }
    }

    object? EvalArg(object? dot, ParameterKind kind, Node node)
    {
        _node = node;
        switch (node)
        {
            case DotNode:
                return ValidateType(dot, kind);
            case NilNode:
                return kind is ParameterKind.Any or ParameterKind.Untyped
                    ? null
                    : throw Error($"cannot assign nil to {KindName(kind)}");
            case FieldNode field:
                return ValidateType(EvalFieldChain(dot, dot, field, field.Ident, [node], NoFinal), kind);
            case VariableNode variable:
                return ValidateType(EvalVariableNode(dot, variable, null, NoFinal), kind);
            case PipeNode pipe:
                return ValidateType(EvalPipeline(dot, pipe), kind);
            case IdentifierNode identifier:
                return ValidateType(EvalFunction(dot, identifier, identifier, null, NoFinal), kind);
            case ChainNode chain:
                return ValidateType(EvalChainNode(dot, chain, null, NoFinal), kind);
        }
        if (kind == ParameterKind.String)
        {
            return node is StringNode s ? s.Text : throw Error($"expected string; found {node}");
        }
        return node switch
        {
            BoolNode b => b.Value,
            NumberNode n => IdealConstant(n),
            StringNode s => s.Text,
            _ => throw Error($"can't handle {node} for arg of type {KindName(kind)}"),
        };
    }

    static string KindName(ParameterKind kind) => kind switch
    {
        ParameterKind.String => "string",
        ParameterKind.Value => "reflect.Value",
        _ => "interface {}",
    };

    /// <summary>Go's <c>validateType</c>: what a value becomes when passed as a parameter of that kind.</summary>
    object? ValidateType(object? value, ParameterKind kind)
    {
        if (ReferenceEquals(value, GoValues.Invalid))
        {
            return kind switch
            {
                ParameterKind.Untyped => value,
                ParameterKind.Any => null,
                _ => throw Error($"invalid value; expected {KindName(kind)}"),
            };
        }
        if (kind == ParameterKind.String && value is not string)
        {
            throw Error($"wrong type for value; expected string; got {(value is null ? "interface {}" : GoValues.TypeName(value))}");
        }
        return value;
    }
}
