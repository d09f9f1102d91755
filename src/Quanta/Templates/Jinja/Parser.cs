using System.Globalization;

namespace Quanta.Templates.Jinja;

/// <summary>
/// Builds the tree of a tokenized template as @huggingface/jinja's <c>parse</c> does: the same statements and the
/// same operator precedence (or &lt; and &lt; not &lt; comparison and <c>in</c> &lt; + - ~ &lt; * / // % &lt; ** &lt;
/// <c>is</c> &lt; <c>|</c> &lt; unary sign &lt; call and member access).
/// </summary>
sealed class Parser
{
    readonly List<Token> _tokens;
    readonly string _source;
    int _current;

    Parser(List<Token> tokens, string source)
    {
        _tokens = tokens;
        _source = source;
    }

    public static TemplateBody Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source), source);
        var body = new List<Node>();
        try
        {
            while (parser._current < parser._tokens.Count)
            {
                body.Add(parser.ParseAny());
            }
        }
        catch (Exception e) when (e is JinjaError or InsufficientExecutionStackException)
        {
            int at = parser._current < parser._tokens.Count ? parser._tokens[parser._current].Offset
                : parser._tokens.Count > 0 ? parser._tokens[^1].Offset : 0;
            var (line, column) = Lexer.Position(source, at);
            throw new JinjaException(e is JinjaError ? e.Message : "Expression nested too deeply", line, column);
        }
        return new TemplateBody(body);
    }

    Token Peek => _current < _tokens.Count ? _tokens[_current] : throw new JinjaError("Unexpected end of template");

    int Offset => _current < _tokens.Count ? _tokens[_current].Offset : _source.Length;

    Token Expect(TokenType type, string error)
    {
        if (_current >= _tokens.Count)
        {
            throw new JinjaError($"{error}, got end of template");
        }
        var token = _tokens[_current];
        if (token.Type != type)
        {
            throw new JinjaError($"{error}, got {Describe(token)}");
        }
        _current++;
        return token;
    }

    static string Describe(Token token) => token.Type switch
    {
        TokenType.Text => "text",
        TokenType.Identifier => $"'{token.Value}'",
        _ => $"'{token.Value}'",
    };

    void ExpectIdentifier(string name)
    {
        if (!IsIdentifier(name))
        {
            throw new JinjaError($"Expected {name}");
        }
        _current++;
    }

    bool Is(params TokenType[] types)
    {
        if (_current + types.Length > _tokens.Count)
        {
            return false;
        }
        for (int i = 0; i < types.Length; i++)
        {
            if (_tokens[_current + i].Type != types[i])
            {
                return false;
            }
        }
        return true;
    }

    bool IsStatement(params string[] names)
    {
        if (_current + 1 >= _tokens.Count)
        {
            throw new JinjaError($"Unexpected end of template, expected {{% {names[^1]} %}}");
        }
        return _tokens[_current].Type == TokenType.OpenStatement && _tokens[_current + 1].Type == TokenType.Identifier
            && names.Contains(_tokens[_current + 1].Value);
    }

    bool IsIdentifier(params string[] names)
    {
        if (_current + names.Length > _tokens.Count)
        {
            return false;
        }
        for (int i = 0; i < names.Length; i++)
        {
            var token = _tokens[_current + i];
            if (token.Type != TokenType.Identifier || token.Value != names[i])
            {
                return false;
            }
        }
        return true;
    }

    Node ParseAny()
    {
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        var token = Peek;
        switch (token.Type)
        {
            case TokenType.Comment:
                _current++;
                return new CommentNode(token.Offset);
            case TokenType.Text:
                _current++;
                return new TextNode(token.Value, token.Offset);
            case TokenType.OpenStatement:
                return ParseStatement();
            case TokenType.OpenExpression:
                _current++;
                var result = ParseExpression();
                Expect(TokenType.CloseExpression, "Expected '}}'");
                return result;
            default:
                throw new JinjaError($"Unexpected {Describe(token)}");
        }
    }

    List<Node> ParseBodyUntil(params string[] names)
    {
        var body = new List<Node>();
        while (!IsStatement(names))
        {
            body.Add(ParseAny());
        }
        return body;
    }

    void ExpectEnd(string name)
    {
        Expect(TokenType.OpenStatement, "Expected '{%'");
        ExpectIdentifier(name);
        Expect(TokenType.CloseStatement, "Expected '%}'");
    }

    Node ParseStatement()
    {
        int offset = Offset;
        Expect(TokenType.OpenStatement, "Expected '{%'");
        if (Peek.Type != TokenType.Identifier)
        {
            throw new JinjaError($"Unknown statement, got {Describe(Peek)}");
        }
        var name = Peek.Value;
        switch (name)
        {
            case "set":
            {
                _current++;
                var target = ParseExpressionSequence();
                Node? value = null;
                var body = new List<Node>();
                if (Is(TokenType.Equals))
                {
                    _current++;
                    value = ParseExpressionSequence();
                }
                else
                {
                    Expect(TokenType.CloseStatement, "Expected '%}'");
                    body = ParseBodyUntil("endset");
                    Expect(TokenType.OpenStatement, "Expected '{%'");
                    ExpectIdentifier("endset");
                }
                Expect(TokenType.CloseStatement, "Expected '%}'");
                return new SetNode(target, value, body, offset);
            }
            case "if":
            {
                _current++;
                var result = ParseIf(offset);
                ExpectEnd("endif");
                return result;
            }
            case "macro":
            {
                _current++;
                var macroName = ParsePrimary();
                if (macroName is not IdentifierNode identifier)
                {
                    throw new JinjaError("Expected identifier following macro statement");
                }
                var parameters = ParseArguments(parameters: true);
                Expect(TokenType.CloseStatement, "Expected '%}'");
                var body = ParseBodyUntil("endmacro");
                ExpectEnd("endmacro");
                return new MacroNode(identifier.Name, parameters, body, offset);
            }
            case "for":
            {
                _current++;
                var result = ParseFor(offset);
                ExpectEnd("endfor");
                return result;
            }
            case "call":
            {
                _current++;
                List<Node>? callerParameters = null;
                if (Is(TokenType.OpenParen))
                {
                    callerParameters = ParseArguments(parameters: true);
                }
                int calleeOffset = Offset;
                var callee = ParsePrimary();
                if (callee is not IdentifierNode)
                {
                    throw new JinjaError("Expected identifier following call statement");
                }
                var arguments = ParseArguments(parameters: false);
                Expect(TokenType.CloseStatement, "Expected '%}'");
                var body = ParseBodyUntil("endcall");
                ExpectEnd("endcall");
                return new CallBlockNode(new CallNode(callee, arguments, calleeOffset), callerParameters, body, offset);
            }
            case "break":
                _current++;
                Expect(TokenType.CloseStatement, "Expected '%}'");
                return new BreakNode(offset);
            case "continue":
                _current++;
                Expect(TokenType.CloseStatement, "Expected '%}'");
                return new ContinueNode(offset);
            case "filter":
            {
                _current++;
                var filter = ParsePrimary();
                if (filter is IdentifierNode && Is(TokenType.OpenParen))
                {
                    filter = ParseCall(filter);
                }
                Expect(TokenType.CloseStatement, "Expected '%}'");
                var body = ParseBodyUntil("endfilter");
                ExpectEnd("endfilter");
                return new FilterBlockNode(filter, body, offset);
            }
            default:
                throw new JinjaError($"Unknown statement type: {name}");
        }
    }

    IfNode ParseIf(int offset)
    {
        var test = ParseExpression();
        Expect(TokenType.CloseStatement, "Expected '%}'");
        var body = ParseBodyUntil("elif", "else", "endif");
        var alternate = new List<Node>();
        if (IsStatement("elif"))
        {
            int elifOffset = Offset;
            _current += 2;
            alternate.Add(ParseIf(elifOffset));
        }
        else if (IsStatement("else"))
        {
            _current += 2;
            Expect(TokenType.CloseStatement, "Expected '%}'");
            alternate = ParseBodyUntil("endif");
        }
        return new IfNode(test, body, alternate, offset);
    }

    ForNode ParseFor(int offset)
    {
        var target = ParseExpressionSequence(primary: true);
        if (target is not (IdentifierNode or TupleLiteral))
        {
            throw new JinjaError("Expected identifier/tuple for the loop variable");
        }
        if (!IsIdentifier("in"))
        {
            throw new JinjaError("Expected `in` keyword following loop variable");
        }
        _current++;
        var iterable = ParseExpression();
        Expect(TokenType.CloseStatement, "Expected '%}'");
        var body = ParseBodyUntil("endfor", "else");
        var otherwise = new List<Node>();
        if (IsStatement("else"))
        {
            _current += 2;
            Expect(TokenType.CloseStatement, "Expected '%}'");
            otherwise = ParseBodyUntil("endfor");
        }
        return new ForNode(target, iterable, body, otherwise, offset);
    }

    Node ParseExpressionSequence(bool primary = false)
    {
        int offset = Offset;
        var expressions = new List<Node> { primary ? ParsePrimary() : ParseExpression() };
        bool isTuple = Is(TokenType.Comma);
        while (isTuple)
        {
            _current++;
            expressions.Add(primary ? ParsePrimary() : ParseExpression());
            if (!Is(TokenType.Comma))
            {
                break;
            }
        }
        return isTuple ? new TupleLiteral(expressions, offset) : expressions[0];
    }

    Node ParseExpression()
    {
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        int offset = Offset;
        var a = ParseOr();
        if (IsIdentifier("if"))
        {
            _current++;
            var test = ParseOr();
            if (IsIdentifier("else"))
            {
                _current++;
                return new TernaryNode(test, a, ParseExpression(), offset);
            }
            return new SelectNode(a, test, offset);
        }
        return a;
    }

    Node ParseOr()
    {
        int offset = Offset;
        var left = ParseAnd();
        while (IsIdentifier("or"))
        {
            _current++;
            left = new BinaryNode("or", left, ParseAnd(), offset);
        }
        return left;
    }

    Node ParseAnd()
    {
        int offset = Offset;
        var left = ParseNot();
        while (IsIdentifier("and"))
        {
            _current++;
            left = new BinaryNode("and", left, ParseNot(), offset);
        }
        return left;
    }

    Node ParseNot()
    {
        Node? result = null;
        while (IsIdentifier("not"))
        {
            int offset = Offset;
            _current++;
            result = new UnaryNode("not", ParseNot(), offset);
        }
        return result ?? ParseComparison();
    }

    Node ParseComparison()
    {
        int offset = Offset;
        var left = ParseAdditive();
        while (true)
        {
            string op;
            if (IsIdentifier("not", "in"))
            {
                op = "not in";
                _current += 2;
            }
            else if (IsIdentifier("in"))
            {
                op = "in";
                _current++;
            }
            else if (Is(TokenType.ComparisonBinaryOperator))
            {
                op = _tokens[_current++].Value;
            }
            else
            {
                break;
            }
            left = new BinaryNode(op, left, ParseAdditive(), offset);
        }
        return left;
    }

    Node ParseAdditive()
    {
        int offset = Offset;
        var left = ParseMultiplicative();
        while (Is(TokenType.AdditiveBinaryOperator))
        {
            var op = _tokens[_current++].Value;
            left = new BinaryNode(op, left, ParseMultiplicative(), offset);
        }
        return left;
    }

    Node ParseMultiplicative()
    {
        int offset = Offset;
        var left = ParsePower();
        while (Is(TokenType.MultiplicativeBinaryOperator))
        {
            var op = _tokens[_current++].Value;
            left = new BinaryNode(op, left, ParsePower(), offset);
        }
        return left;
    }

    Node ParsePower()
    {
        int offset = Offset;
        var left = ParseTest();
        while (Is(TokenType.ExponentiationBinaryOperator))
        {
            _current++;
            left = new BinaryNode("**", left, ParseTest(), offset);
        }
        return left;
    }

    Node ParseTest()
    {
        int offset = Offset;
        var operand = ParseFilter();
        while (IsIdentifier("is"))
        {
            _current++;
            bool negate = IsIdentifier("not");
            if (negate)
            {
                _current++;
            }
            if (ParsePrimary() is not IdentifierNode test)
            {
                throw new JinjaError("Expected identifier for the test");
            }
            operand = new TestNode(operand, negate, test.Name, offset);
        }
        return operand;
    }

    Node ParseFilter()
    {
        int offset = Offset;
        var operand = ParseUnarySign();
        while (Is(TokenType.Pipe))
        {
            _current++;
            var filter = ParsePrimary();
            if (filter is not IdentifierNode)
            {
                throw new JinjaError("Expected identifier for the filter");
            }
            if (Is(TokenType.OpenParen))
            {
                filter = ParseCall(filter);
            }
            operand = new FilterNode(operand, filter, offset);
        }
        return operand;
    }

    Node ParseUnarySign()
    {
        var token = Peek;
        if (token.Type is TokenType.UnaryOperator or TokenType.AdditiveBinaryOperator && token.Value is "-" or "+")
        {
            _current++;
            return new UnaryNode(token.Value, ParseUnarySign(), token.Offset);
        }
        var member = ParseMember(ParsePrimary());
        return Is(TokenType.OpenParen) ? ParseCall(member) : member;
    }

    Node ParseCall(Node callee)
    {
        Node expression = new CallNode(callee, ParseArguments(parameters: false), callee.Offset);
        expression = ParseMember(expression);
        return Is(TokenType.OpenParen) ? ParseCall(expression) : expression;
    }

    /// <summary>A parenthesized list of call arguments, or (<paramref name="parameters"/>) of macro parameters.</summary>
    List<Node> ParseArguments(bool parameters)
    {
        Expect(TokenType.OpenParen, "Expected '('");
        var args = new List<Node>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool sawKeyword = false, sawSpread = false;
        while (!Is(TokenType.CloseParen))
        {
            int offset = Offset;
            bool keywordSpread = Is(TokenType.ExponentiationBinaryOperator);
            bool positionalSpread = Is(TokenType.MultiplicativeBinaryOperator) && Peek.Value == "*";
            if (parameters && (keywordSpread || positionalSpread))
            {
                throw new JinjaError("Argument unpacking is not allowed in parameter declarations");
            }
            if (keywordSpread)
            {
                _current++;
                args.Add(new SpreadNode(ParseExpression(), Keywords: true, offset));
                if (Is(TokenType.Comma))
                {
                    _current++;
                }
                if (!Is(TokenType.CloseParen))
                {
                    throw new JinjaError("Expected closing parenthesis: `**` must be applied to the final argument");
                }
                break;
            }
            Node argument;
            if (positionalSpread)
            {
                if (sawSpread)
                {
                    throw new JinjaError("Only one `*` argument unpacking is allowed");
                }
                sawSpread = true;
                _current++;
                argument = new SpreadNode(ParseExpression(), Keywords: false, offset);
            }
            else
            {
                argument = ParseExpression();
                if (Is(TokenType.Equals))
                {
                    _current++;
                    if (argument is not IdentifierNode key)
                    {
                        throw new JinjaError(parameters ? "Expected identifier for parameter declaration" : "Expected identifier for keyword argument");
                    }
                    argument = new KeywordArgumentNode(key.Name, ParseExpression(), offset);
                }
                if (parameters)
                {
                    var name = argument switch
                    {
                        IdentifierNode id => id.Name,
                        KeywordArgumentNode kw => kw.Key,
                        _ => throw new JinjaError("Expected identifier for parameter declaration"),
                    };
                    if (!names.Add(name))
                    {
                        throw new JinjaError($"Duplicate parameter name: {name}");
                    }
                }
                if (argument is KeywordArgumentNode)
                {
                    sawKeyword = true;
                }
                else if (sawKeyword)
                {
                    throw new JinjaError(parameters ? "Non-default argument follows default argument" : "Positional arguments must come before keyword arguments");
                }
                else if (sawSpread)
                {
                    throw new JinjaError("Positional arguments must not follow `*` argument unpacking");
                }
            }
            args.Add(argument);
            if (Is(TokenType.Comma))
            {
                _current++;
            }
        }
        Expect(TokenType.CloseParen, "Expected ')'");
        return args;
    }

    Node ParseMember(Node target)
    {
        while (Is(TokenType.Dot) || Is(TokenType.OpenSquareBracket))
        {
            var op = _tokens[_current++];
            Node property;
            bool computed = op.Type == TokenType.OpenSquareBracket;
            if (computed)
            {
                property = ParseSubscript(op.Offset);
                Expect(TokenType.CloseSquareBracket, "Expected ']'");
            }
            else
            {
                property = ParsePrimary();
                if (property is not (IdentifierNode or IntegerLiteral))
                {
                    throw new JinjaError("Expected identifier or integer following dot operator");
                }
            }
            target = new MemberNode(target, property, computed, op.Offset);
        }
        return target;
    }

    /// <summary>Inside <c>[...]</c>: an index, or a slice <c>start:stop:step</c> with any part left out.</summary>
    Node ParseSubscript(int offset)
    {
        var parts = new List<Node?>();
        bool isSlice = false;
        while (!Is(TokenType.CloseSquareBracket))
        {
            if (Is(TokenType.Colon))
            {
                parts.Add(null);
                _current++;
                isSlice = true;
            }
            else
            {
                parts.Add(ParseExpression());
                if (Is(TokenType.Colon))
                {
                    _current++;
                    isSlice = true;
                }
            }
        }
        if (parts.Count == 0)
        {
            throw new JinjaError("Expected at least one argument for member/slice expression");
        }
        if (isSlice)
        {
            if (parts.Count > 3)
            {
                throw new JinjaError("Expected 0-3 arguments for slice expression");
            }
            return new SliceNode(parts[0], parts.Count > 1 ? parts[1] : null, parts.Count > 2 ? parts[2] : null, offset);
        }
        return parts[0]!;
    }

    Node ParsePrimary()
    {
        var token = Peek;
        _current++;
        switch (token.Type)
        {
            case TokenType.NumericLiteral:
                return token.Value.Contains('.', StringComparison.Ordinal)
                    ? new FloatLiteral(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Offset)
                    : new IntegerLiteral(long.Parse(token.Value, CultureInfo.InvariantCulture), token.Offset);
            case TokenType.StringLiteral:
            {
                // Adjacent string literals concatenate, as in Python.
                var value = token.Value;
                while (Is(TokenType.StringLiteral))
                {
                    value += _tokens[_current++].Value;
                }
                return new StringLiteral(value, token.Offset);
            }
            case TokenType.Identifier:
                return new IdentifierNode(token.Value, token.Offset);
            case TokenType.OpenParen:
            {
                var expression = ParseExpressionSequence();
                Expect(TokenType.CloseParen, "Expected ')'");
                return expression;
            }
            case TokenType.OpenSquareBracket:
            {
                var values = new List<Node>();
                while (!Is(TokenType.CloseSquareBracket))
                {
                    values.Add(ParseExpression());
                    if (Is(TokenType.Comma))
                    {
                        _current++;
                    }
                }
                _current++;
                return new ArrayLiteral(values, token.Offset);
            }
            case TokenType.OpenCurlyBracket:
            {
                var entries = new List<(Node, Node)>();
                while (!Is(TokenType.CloseCurlyBracket))
                {
                    var key = ParseExpression();
                    Expect(TokenType.Colon, "Expected colon between key and value in object literal");
                    entries.Add((key, ParseExpression()));
                    if (Is(TokenType.Comma))
                    {
                        _current++;
                    }
                }
                _current++;
                return new ObjectLiteral(entries, token.Offset);
            }
            default:
                _current--;
                throw new JinjaError($"Unexpected {Describe(token)}");
        }
    }
}
