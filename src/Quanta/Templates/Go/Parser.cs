using System.Runtime.CompilerServices;

namespace Quanta.Templates.Go;

/// <summary>
/// The parser of Go's <c>text/template/parse/parse.go</c>, ported rule for rule so that a template Go accepts
/// parses to the same tree and a template Go refuses fails with Go's message and line. One instance parses one
/// tree; <c>{{define}}</c> and <c>{{block}}</c> bodies get their own instance over the same lexer, as in Go, which
/// decides which token's line an error reports.
/// </summary>
internal sealed class Parser
{
    // Go's limits (parse.go): deeper parentheses or longer pipelines are refused.
    const int MaxStackDepth = 10000;
    const int MaxPipelineCommands = 100000;

    readonly string _parseName;
    readonly Lexer _lexer;
    readonly Dictionary<string, ListNode> _treeSet;
    readonly IReadOnlySet<string> _functions;
    readonly Token[] _token = new Token[3]; // three-token lookahead
    readonly List<string> _vars = ["$"];
    string _name;
    ListNode _root;
    int _peekCount;
    int _actionLine; // the line of the "{{" that started the current action
    int _rangeDepth;
    int _stackDepth;

    Parser(string name, string parseName, Lexer lexer, Dictionary<string, ListNode> treeSet, IReadOnlySet<string> functions)
    {
        _name = name;
        _parseName = parseName;
        _lexer = lexer;
        _treeSet = treeSet;
        _functions = functions;
        _root = new ListNode(0);
    }

    /// <summary>Parses <paramref name="text"/>: the top-level tree under <paramref name="name"/>, plus every define and block.</summary>
    /// <exception cref="TemplateException">The text is not a valid template; the message is Go's.</exception>
    public static Dictionary<string, ListNode> Parse(string text, string name, IReadOnlySet<string> functions)
    {
        var treeSet = new Dictionary<string, ListNode>(StringComparer.Ordinal);
        var lexer = new Lexer(text, breakOk: !functions.Contains("break"), continueOk: !functions.Contains("continue"));
        var parser = new Parser(name, name, lexer, treeSet, functions);
        parser.ParseTop();
        parser.Add();
        return treeSet;
    }

    // Tokens.

    Token Next()
    {
        if (_peekCount > 0)
        {
            _peekCount--;
        }
        else
        {
            _token[0] = _lexer.NextToken();
        }
        return _token[_peekCount];
    }

    void Backup() => _peekCount++;

    /// <summary>Backs up two tokens; the zeroth is already there.</summary>
    void Backup2(Token t1)
    {
        _token[1] = t1;
        _peekCount = 2;
    }

    /// <summary>Backs up three tokens (pushed in reverse order); the zeroth is already there.</summary>
    void Backup3(Token t2, Token t1)
    {
        _token[1] = t1;
        _token[2] = t2;
        _peekCount = 3;
    }

    Token Peek()
    {
        if (_peekCount > 0)
        {
            return _token[_peekCount - 1];
        }
        _peekCount = 1;
        _token[0] = _lexer.NextToken();
        return _token[0];
    }

    Token NextNonSpace()
    {
        Token token;
        do
        {
            token = Next();
        }
        while (token.Kind == TokenKind.Space);
        return token;
    }

    Token PeekNonSpace()
    {
        var token = NextNonSpace();
        Backup();
        return token;
    }

    // Errors: Go reports the line of the most recently scanned token, token[0].

    TemplateException Error(string message) =>
        new($"template: {_parseName}:{_token[0].Line}: {message}", _token[0].Line);

    TemplateException Unexpected(Token token, string context)
    {
        if (token.Kind == TokenKind.Error)
        {
            var extra = "";
            if (_actionLine != 0 && _actionLine != token.Line)
            {
                extra = $" in action started at {_parseName}:{_actionLine}";
                if (token.Value.EndsWith(" action", StringComparison.Ordinal))
                {
                    extra = extra[" in action".Length..]; // not "action in action"
                }
            }
            return Error($"{token}{extra}");
        }
        return Error($"unexpected {token} in {context}");
    }

    Token Expect(TokenKind expected, string context)
    {
        var token = NextNonSpace();
        return token.Kind == expected ? token : throw Unexpected(token, context);
    }

    Token ExpectOneOf(TokenKind expected1, TokenKind expected2, string context)
    {
        var token = NextNonSpace();
        return token.Kind == expected1 || token.Kind == expected2 ? token : throw Unexpected(token, context);
    }

    // Trees.

    void Add()
    {
        if (!_treeSet.TryGetValue(_name, out var tree) || IsEmptyTree(tree))
        {
            _treeSet[_name] = _root;
            return;
        }
        if (!IsEmptyTree(_root))
        {
            throw Error($"template: multiple definition of template {GoSyntax.Quote(_name)}");
        }
    }

    /// <summary>Whether a tree holds nothing but space: such a tree may be redefined.</summary>
    static bool IsEmptyTree(Node node) => node switch
    {
        ListNode list => list.Nodes.All(IsEmptyTree),
        TextNode text => text.Text.Trim().Length == 0,
        _ => false,
    };

    /// <summary>The top level: like <see cref="ItemList"/>, but also takes <c>{{define}}</c>, and runs to EOF.</summary>
    void ParseTop()
    {
        _root = new ListNode(Peek().Position);
        while (Peek().Kind != TokenKind.Eof)
        {
            if (Peek().Kind == TokenKind.LeftDelim)
            {
                var delim = Next();
                if (NextNonSpace().Kind == TokenKind.Define)
                {
                    var definition = new Parser("definition", _parseName, _lexer, _treeSet, _functions);
                    definition.ParseDefinition();
                    continue;
                }
                Backup2(delim);
            }
            var node = TextOrAction();
            if (node is EndNode or ElseNode)
            {
                throw Error($"unexpected {node}");
            }
            _root.Add(node);
        }
    }

    /// <summary><c>{{define "name"}} ... {{end}}</c>; the keyword is past.</summary>
    void ParseDefinition()
    {
        const string context = "define clause";
        var name = ExpectOneOf(TokenKind.String, TokenKind.RawString, context);
        _name = GoSyntax.Unquote(name.Value) ?? throw Error(GoSyntax.InvalidSyntax);
        Expect(TokenKind.RightDelim, context);
        var (list, end) = ItemList();
        _root = list;
        if (end is not EndNode)
        {
            throw Error($"unexpected {end} in {context}");
        }
        Add();
    }

    /// <summary>Text and actions up to <c>{{end}}</c> or <c>{{else}}</c>, which is returned separately.</summary>
    (ListNode List, Node End) ItemList()
    {
        var list = new ListNode(PeekNonSpace().Position);
        while (PeekNonSpace().Kind != TokenKind.Eof)
        {
            var node = TextOrAction();
            if (node is EndNode or ElseNode)
            {
                return (list, node);
            }
            list.Add(node);
        }
        throw Error("unexpected EOF");
    }

    Node TextOrAction()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            // Go's stacks grow; ours do not. Refuse absurd nesting instead of crashing.
            throw Error("max expression depth exceeded");
        }
        var token = NextNonSpace();
        switch (token.Kind)
        {
            case TokenKind.Text:
                return new TextNode(token.Position, token.Value);
            case TokenKind.LeftDelim:
                _actionLine = token.Line;
                try
                {
                    return Action();
                }
                finally
                {
                    _actionLine = 0;
                }
            default:
                throw Unexpected(token, "input");
        }
    }

    /// <summary>A control structure or a pipeline; the left delimiter is past.</summary>
    Node Action()
    {
        var token = NextNonSpace();
        switch (token.Kind)
        {
            case TokenKind.Block:
                return BlockControl();
            case TokenKind.Break:
                return BreakControl(token.Position, token.Line);
            case TokenKind.Continue:
                return ContinueControl(token.Position, token.Line);
            case TokenKind.Else:
                return ElseControl();
            case TokenKind.End:
                return new EndNode(Expect(TokenKind.RightDelim, "end").Position);
            case TokenKind.If:
                return IfControl();
            case TokenKind.Range:
                return RangeControl();
            case TokenKind.Template:
                return TemplateControl();
            case TokenKind.With:
                return WithControl();
        }
        Backup();
        token = Peek();
        // Variables declared here live until the enclosing {{end}}.
        return new ActionNode(token.Position, token.Line, Pipeline("command", TokenKind.RightDelim));
    }

    Node BreakControl(int position, int line)
    {
        var token = NextNonSpace();
        if (token.Kind != TokenKind.RightDelim)
        {
            throw Unexpected(token, "{{break}}");
        }
        return _rangeDepth == 0 ? throw Error("{{break}} outside {{range}}") : new BreakNode(position, line);
    }

    Node ContinueControl(int position, int line)
    {
        var token = NextNonSpace();
        if (token.Kind != TokenKind.RightDelim)
        {
            throw Unexpected(token, "{{continue}}");
        }
        return _rangeDepth == 0 ? throw Error("{{continue}} outside {{range}}") : new ContinueNode(position, line);
    }

    /// <summary>declarations? command ('|' command)*, up to <paramref name="end"/>.</summary>
    PipeNode Pipeline(string context, TokenKind end)
    {
        var first = PeekNonSpace();
        var pipe = new PipeNode(first.Position, first.Line);
        while (PeekNonSpace() is { Kind: TokenKind.Variable } variable)
        {
            Next();
            // Space is a token, so "$x foo" needs three tokens of lookahead to tell an argument from a declaration.
            var tokenAfterVariable = Peek();
            var next = PeekNonSpace();
            if (next.Kind is TokenKind.Assign or TokenKind.Declare)
            {
                pipe.IsAssign = next.Kind == TokenKind.Assign;
                NextNonSpace();
                pipe.AddDeclaration(new VariableNode(variable.Position, variable.Value));
                _vars.Add(variable.Value);
            }
            else if (next.Kind == TokenKind.Char && next.Value == ",")
            {
                NextNonSpace();
                pipe.AddDeclaration(new VariableNode(variable.Position, variable.Value));
                _vars.Add(variable.Value);
                if (context == "range" && pipe.Declarations.Count < 2)
                {
                    if (PeekNonSpace().Kind is TokenKind.Variable or TokenKind.RightDelim or TokenKind.RightParen)
                    {
                        continue; // the second variable of "range $i, $e :="
                    }
                    throw Error("range can only initialize variables");
                }
                throw Error($"too many declarations in {context}");
            }
            else if (tokenAfterVariable.Kind == TokenKind.Space)
            {
                Backup3(variable, tokenAfterVariable);
            }
            else
            {
                Backup2(variable);
            }
            break;
        }
        while (true)
        {
            var token = NextNonSpace();
            if (token.Kind == end)
            {
                CheckPipeline(pipe, context);
                return pipe;
            }
            switch (token.Kind)
            {
                case TokenKind.Bool or TokenKind.CharConstant or TokenKind.Complex or TokenKind.Dot or TokenKind.Field
                    or TokenKind.Identifier or TokenKind.Number or TokenKind.Nil or TokenKind.RawString or TokenKind.String
                    or TokenKind.Variable or TokenKind.LeftParen:
                    Backup();
                    pipe.AddCommand(Command());
                    if (pipe.Commands.Count > MaxPipelineCommands)
                    {
                        throw Error("pipeline too long");
                    }
                    break;
                default:
                    throw Unexpected(token, context);
            }
        }
    }

    void CheckPipeline(PipeNode pipe, string context)
    {
        if (pipe.Commands.Count == 0)
        {
            throw Error($"missing value for {context}");
        }
        // Only the first command of a pipeline may start with a value that cannot be called.
        for (var i = 1; i < pipe.Commands.Count; i++)
        {
            if (pipe.Commands[i].Arguments[0] is BoolNode or DotNode or NilNode or NumberNode or StringNode)
            {
                throw Error($"non executable command in pipeline stage {i + 1}");
            }
        }
    }

    (PipeNode Pipe, ListNode List, ListNode? ElseList) ParseControl(string context)
    {
        var declared = _vars.Count;
        try
        {
            var pipe = Pipeline(context, TokenKind.RightDelim);
            if (context == "range")
            {
                _rangeDepth++;
            }
            var (list, next) = ItemList();
            if (context == "range")
            {
                _rangeDepth--;
            }
            ListNode? elseList = null;
            if (next is ElseNode)
            {
                // "{{else if b}}" is "{{else}}{{if b}}...{{end}}" whose {{end}} is shared; "{{else with}}" likewise.
                if (context == "if" && Peek().Kind == TokenKind.If)
                {
                    Next();
                    elseList = new ListNode(next.Position);
                    elseList.Add(IfControl());
                }
                else if (context == "with" && Peek().Kind == TokenKind.With)
                {
                    Next();
                    elseList = new ListNode(next.Position);
                    elseList.Add(WithControl());
                }
                else
                {
                    (elseList, next) = ItemList();
                    if (next is not EndNode)
                    {
                        throw Error($"expected end; found {next}");
                    }
                }
            }
            return (pipe, list, elseList);
        }
        finally
        {
            // Variables declared in the pipeline or the body go out of scope at {{end}}.
            _vars.RemoveRange(declared, _vars.Count - declared);
        }
    }

    Node IfControl()
    {
        var (pipe, list, elseList) = ParseControl("if");
        return new IfNode(pipe.Position, pipe.Line, pipe, list, elseList);
    }

    Node RangeControl()
    {
        var (pipe, list, elseList) = ParseControl("range");
        return new RangeNode(pipe.Position, pipe.Line, pipe, list, elseList);
    }

    Node WithControl()
    {
        var (pipe, list, elseList) = ParseControl("with");
        return new WithNode(pipe.Position, pipe.Line, pipe, list, elseList);
    }

    /// <summary><c>{{else}}</c>; for <c>{{else if</c> and <c>{{else with</c> the keyword is left for the caller.</summary>
    Node ElseControl()
    {
        var peek = PeekNonSpace();
        if (peek.Kind is TokenKind.If or TokenKind.With)
        {
            return new ElseNode(peek.Position, peek.Line);
        }
        var token = Expect(TokenKind.RightDelim, "else");
        return new ElseNode(token.Position, token.Line);
    }

    /// <summary><c>{{block "name" pipeline}} ... {{end}}</c>: defines the template and calls it in place.</summary>
    Node BlockControl()
    {
        const string context = "block clause";
        var token = NextNonSpace();
        var name = ParseTemplateName(token, context);
        var pipe = Pipeline(context, TokenKind.RightDelim);
        var block = new Parser(name, _parseName, _lexer, _treeSet, _functions);
        var (list, end) = block.ItemList();
        block._root = list;
        if (end is not EndNode)
        {
            throw Error($"unexpected {end} in {context}");
        }
        block.Add();
        return new TemplateNode(token.Position, token.Line, name, pipe);
    }

    /// <summary><c>{{template "name"}}</c> or <c>{{template "name" pipeline}}</c>.</summary>
    Node TemplateControl()
    {
        const string context = "template clause";
        var token = NextNonSpace();
        var name = ParseTemplateName(token, context);
        PipeNode? pipe = null;
        if (NextNonSpace().Kind != TokenKind.RightDelim)
        {
            Backup();
            pipe = Pipeline(context, TokenKind.RightDelim);
        }
        return new TemplateNode(token.Position, token.Line, name, pipe);
    }

    string ParseTemplateName(Token token, string context) =>
        token.Kind is TokenKind.String or TokenKind.RawString
            ? GoSyntax.Unquote(token.Value) ?? throw Error(GoSyntax.InvalidSyntax)
            : throw Unexpected(token, context);

    /// <summary>Space-separated operands up to <c>|</c> (consumed) or the end of the action (left in place).</summary>
    CommandNode Command()
    {
        var command = new CommandNode(PeekNonSpace().Position);
        while (true)
        {
            PeekNonSpace(); // skip leading spaces
            if (Operand() is { } operand)
            {
                command.Add(operand);
            }
            var token = Next();
            if (token.Kind == TokenKind.Space)
            {
                continue;
            }
            if (token.Kind is TokenKind.RightDelim or TokenKind.RightParen)
            {
                Backup();
            }
            else if (token.Kind != TokenKind.Pipe)
            {
                throw Unexpected(token, "operand");
            }
            break;
        }
        return command.Arguments.Count == 0 ? throw Error("empty command") : command;
    }

    /// <summary>A term and the fields read from it; null when the next token is not a term.</summary>
    Node? Operand()
    {
        var node = Term();
        if (node is null)
        {
            return null;
        }
        if (Peek().Kind == TokenKind.Field)
        {
            var chain = new ChainNode(Peek().Position, node);
            while (Peek().Kind == TokenKind.Field)
            {
                chain.Add(Next().Value);
            }
            // As Go: fields of a field or a variable extend it; fields of a constant are an error.
            node = node switch
            {
                FieldNode => new FieldNode(chain.Position, chain.ToString()),
                VariableNode => new VariableNode(chain.Position, chain.ToString()),
                BoolNode or StringNode or NumberNode or NilNode or DotNode =>
                    throw Error($"unexpected . after term {GoSyntax.Quote(node.ToString())}"),
                _ => chain,
            };
        }
        return node;
    }

    /// <summary>A literal, function name, <c>.</c>, <c>.Field</c>, <c>$var</c> or parenthesised pipeline; null if none.</summary>
    Node? Term()
    {
        var token = NextNonSpace();
        switch (token.Kind)
        {
            case TokenKind.Identifier:
                return _functions.Contains(token.Value)
                    ? new IdentifierNode(token.Position, token.Value)
                    : throw Error($"function {GoSyntax.Quote(token.Value)} not defined");
            case TokenKind.Dot:
                return new DotNode(token.Position);
            case TokenKind.Nil:
                return new NilNode(token.Position);
            case TokenKind.Variable:
                return UseVariable(token.Position, token.Value);
            case TokenKind.Field:
                return new FieldNode(token.Position, token.Value);
            case TokenKind.Bool:
                return new BoolNode(token.Position, token.Value == "true");
            case TokenKind.CharConstant or TokenKind.Complex or TokenKind.Number:
                return NumberParser.Parse(token.Position, token.Value, token.Kind, out var error) ?? throw Error(error);
            case TokenKind.LeftParen:
                if (_stackDepth >= MaxStackDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
                {
                    throw Error("max expression depth exceeded");
                }
                _stackDepth++;
                try
                {
                    return Pipeline("parenthesized pipeline", TokenKind.RightParen);
                }
                finally
                {
                    _stackDepth--;
                }
            case TokenKind.String or TokenKind.RawString:
                return new StringNode(token.Position, token.Value, GoSyntax.Unquote(token.Value) ?? throw Error(GoSyntax.InvalidSyntax));
        }
        Backup();
        return null;
    }

    Node UseVariable(int position, string name)
    {
        var variable = new VariableNode(position, name);
        return _vars.Contains(variable.Ident[0])
            ? variable
            : throw Error($"undefined variable {GoSyntax.Quote(variable.Ident[0])}");
    }
}
