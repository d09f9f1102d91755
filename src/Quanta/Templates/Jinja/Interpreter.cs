using System.Text;

namespace Quanta.Templates.Jinja;

/// <summary>
/// Renders a parsed template as @huggingface/jinja's <c>Interpreter</c> does: the same scoping (a for body and a
/// macro call get their own scope; <c>set</c> writes the current one; namespaces carry values out of loops), the
/// same operators, and the filters and tests of <see cref="Filters"/> and <see cref="Runtime"/>.
/// </summary>
sealed class Interpreter(string source)
{
    sealed class BreakSignal : Exception;

    sealed class ContinueSignal : Exception;

    /// <summary>Renders <paramref name="body"/> in <paramref name="globals"/>.</summary>
    public string Render(TemplateBody body, Scope globals)
    {
        try
        {
            return RenderBlock(body.Body, globals);
        }
        catch (BreakSignal)
        {
            throw new JinjaException("break outside a loop");
        }
        catch (ContinueSignal)
        {
            throw new JinjaException("continue outside a loop");
        }
    }

    JinjaException At(Node node, string message)
    {
        var (line, column) = Lexer.Position(source, node.Offset);
        return new JinjaException(message, line, column);
    }

    string RenderBlock(IReadOnlyList<Node> statements, Scope scope)
    {
        var sb = new StringBuilder();
        foreach (var statement in statements)
        {
            switch (statement)
            {
                case TextNode text:
                    sb.Append(text.Value);
                    break;
                case IfNode node:
                    sb.Append(RenderIf(node, scope));
                    break;
                case ForNode node:
                    sb.Append(RenderFor(node, scope));
                    break;
                case SetNode node:
                    ExecuteSet(node, scope);
                    break;
                case CommentNode:
                    break;
                default:
                    var value = Evaluate(statement, scope);
                    if (value is not (NullValue or UndefinedValue))
                    {
                        sb.Append(value.ToString());
                    }
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Evaluates a node; a problem found inside names this node's position unless an inner node named its own.</summary>
    public Value Evaluate(Node? node, Scope scope)
    {
        if (node is null)
        {
            return UndefinedValue.Instance;
        }
        try
        {
            // A macro that calls itself forever, or absurd nesting, ends in an error rather than a crashed process.
            System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
            return EvaluateCore(node, scope);
        }
        catch (JinjaError e)
        {
            throw At(node, e.Message);
        }
        catch (InsufficientExecutionStackException)
        {
            throw At(node, "Maximum call stack size exceeded");
        }
    }

    Value EvaluateCore(Node node, Scope scope)
    {
        switch (node)
        {
            case IdentifierNode id:
                return scope.Lookup(id.Name);
            case IntegerLiteral i:
                return NumberValue.Integer(i.Value);
            case FloatLiteral f:
                return NumberValue.Float(f.Value);
            case StringLiteral s:
                return new StringValue(s.Value);
            case TextNode t:
                return new StringValue(t.Value);
            case BinaryNode b:
                return EvaluateBinary(b, scope);
            case MemberNode m:
                return EvaluateMember(m, scope);
            case CallNode c:
            {
                var args = EvaluateCallArguments(c.Arguments, scope);
                var fn = Evaluate(c.Callee, scope);
                if (fn is not FunctionValue function)
                {
                    throw new JinjaError($"Cannot call something that is not a function: got {fn.TypeName}");
                }
                return function.Call(args, scope);
            }
            case FilterNode f:
                return Filters.Apply(this, Evaluate(f.Operand, scope), f.Filter, scope);
            case TestNode t:
            {
                var operand = Evaluate(t.Operand, scope);
                bool result = Runtime.Test(t.Test, operand, null);
                return BooleanValue.Of(t.Negate ? !result : result);
            }
            case TernaryNode t:
                return Evaluate(t.Condition, scope).IsTrue ? Evaluate(t.IfTrue, scope) : Evaluate(t.IfFalse, scope);
            case SelectNode s:
                return Evaluate(s.Test, scope).IsTrue ? Evaluate(s.Value, scope) : UndefinedValue.Instance;
            case UnaryNode u:
                return EvaluateUnary(u, scope);
            case ArrayLiteral a:
                return new ArrayValue([.. a.Items.Select(x => Evaluate(x, scope))]);
            case TupleLiteral t:
                return new ArrayValue([.. t.Items.Select(x => Evaluate(x, scope))], isTuple: true);
            case ObjectLiteral o:
            {
                var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
                foreach (var (keyNode, valueNode) in o.Entries)
                {
                    if (Evaluate(keyNode, scope) is not StringValue key)
                    {
                        throw new JinjaError($"Object keys must be strings: got {Evaluate(keyNode, scope).TypeName}");
                    }
                    entries[key.Value] = Evaluate(valueNode, scope);
                }
                return new ObjectValue(entries);
            }
            case IfNode i:
                return new StringValue(RenderIf(i, scope));
            case ForNode f:
                return new StringValue(RenderFor(f, scope));
            case SetNode s:
                ExecuteSet(s, scope);
                return NullValue.Instance;
            case MacroNode m:
                DefineMacro(m, scope);
                return NullValue.Instance;
            case CallBlockNode c:
                return EvaluateCallBlock(c, scope);
            case FilterBlockNode f:
                return Filters.Apply(this, new StringValue(RenderBlock(f.Body, scope)), f.Filter, scope);
            case CommentNode:
                return NullValue.Instance;
            case BreakNode:
                throw new BreakSignal();
            case ContinueNode:
                throw new ContinueSignal();
            default:
                throw new JinjaError($"Unknown node type: {node.GetType().Name}");
        }
    }

    Value EvaluateBinary(BinaryNode node, Scope scope)
    {
        var op = node.Operator;
        var left = Evaluate(node.Left, scope);
        if (op == "and")
        {
            return left.IsTrue ? Evaluate(node.Right, scope) : left;
        }
        if (op == "or")
        {
            return left.IsTrue ? left : Evaluate(node.Right, scope);
        }
        var right = Evaluate(node.Right, scope);
        if (op == "==")
        {
            return BooleanValue.Of(Runtime.LooseEquals(left, right));
        }
        if (op == "!=")
        {
            return BooleanValue.Of(!Runtime.LooseEquals(left, right));
        }
        if (left is NumberValue a && right is NumberValue b && op is not ("~" or "**"))
        {
            bool isFloat = a.IsFloat || b.IsFloat;
            NumberValue Result(double v) => new(v, isFloat);
            switch (op)
            {
                case "+": return Result(a.Value + b.Value);
                case "-": return Result(a.Value - b.Value);
                case "*": return Result(a.Value * b.Value);
                case "/": return NumberValue.Float(a.Value / b.Value);
                case "//": return Result(Math.Floor(a.Value / b.Value));
                case "%": return Result(a.Value % b.Value);
                case "<": return BooleanValue.Of(a.Value < b.Value);
                case ">": return BooleanValue.Of(a.Value > b.Value);
                case ">=": return BooleanValue.Of(a.Value >= b.Value);
                case "<=": return BooleanValue.Of(a.Value <= b.Value);
            }
        }
        else if (left is UndefinedValue || right is UndefinedValue)
        {
            if (right is UndefinedValue && op is "in" or "not in")
            {
                return BooleanValue.Of(op == "not in");
            }
            if (op == "~" && left is not NullValue && right is not NullValue)
            {
                var lhs = left is UndefinedValue ? "" : PlainText(left);
                var rhs = right is UndefinedValue ? "" : PlainText(right);
                return new StringValue(lhs + rhs);
            }
            throw new JinjaError($"Cannot perform operation {op} on undefined values");
        }
        else if (left is NullValue || right is NullValue)
        {
            throw new JinjaError("Cannot perform operation on null values");
        }
        else if (op == "~")
        {
            return new StringValue(PlainText(left) + PlainText(right));
        }
        else if (op == "**" && left is NumberValue or BooleanValue && right is NumberValue or BooleanValue)
        {
            double x = Runtime.ToNumber(left), y = Runtime.ToNumber(right);
            if (x == 0 && y < 0)
            {
                throw new JinjaError("0.0 cannot be raised to a negative power");
            }
            double result = Math.Pow(x, y);
            if (!double.IsFinite(result))
            {
                throw new JinjaError("Exponentiation result is not a finite real number");
            }
            bool isFloat = left is NumberValue { IsFloat: true } || right is NumberValue { IsFloat: true } || y < 0;
            return new NumberValue(result, isFloat);
        }
        else if (left is ArrayValue la && right is ArrayValue ra)
        {
            if (op == "+")
            {
                return new ArrayValue([.. la.Items, .. ra.Items]);
            }
        }
        else if (right is ArrayValue list)
        {
            bool member = list.Items.Any(x => Runtime.StrictEquals(x, left));
            if (op == "in")
            {
                return BooleanValue.Of(member);
            }
            if (op == "not in")
            {
                return BooleanValue.Of(!member);
            }
        }
        if ((left is StringValue || right is StringValue) && op == "+")
        {
            return new StringValue(PlainText(left) + PlainText(right));
        }
        if (left is StringValue ls && right is StringValue rs)
        {
            if (op == "in")
            {
                return BooleanValue.Of(rs.Value.Contains(ls.Value, StringComparison.Ordinal));
            }
            if (op == "not in")
            {
                return BooleanValue.Of(!rs.Value.Contains(ls.Value, StringComparison.Ordinal));
            }
        }
        if (left is StringValue key && right is ObjectValue { IsMapping: true } map)
        {
            if (op == "in")
            {
                return BooleanValue.Of(map.Entries.ContainsKey(key.Value));
            }
            if (op == "not in")
            {
                return BooleanValue.Of(!map.Entries.ContainsKey(key.Value));
            }
        }
        throw new JinjaError($"Unknown operator \"{op}\" between {left.TypeName} and {right.TypeName}");
    }

    /// <summary>JavaScript's <c>value.toString()</c> of the raw value (what <c>~</c> and <c>+</c> with a string use): a float 1.0 is "1".</summary>
    static string PlainText(Value v) => v switch
    {
        NumberValue n => JsText.Number(n.Value),
        ArrayValue a => string.Join(",", a.Items.Select(Runtime.JoinText)),
        ObjectValue => "[object Map]",
        _ => v.ToString(),
    };

    Value EvaluateUnary(UnaryNode node, Scope scope)
    {
        var argument = Evaluate(node.Operand, scope);
        switch (node.Operator)
        {
            case "not":
                return BooleanValue.Of(!argument.IsTrue);
            case "+":
            case "-":
            {
                int sign = node.Operator == "-" ? -1 : 1;
                if (argument is NumberValue or BooleanValue)
                {
                    double result = sign * Runtime.ToNumber(argument);
                    return new NumberValue(result, argument is NumberValue { IsFloat: true });
                }
                throw new JinjaError($"Unknown operator \"{node.Operator}\" for {argument.TypeName}");
            }
            default:
                throw new JinjaError($"Unknown operator: {node.Operator}");
        }
    }

    /// <summary>A call's arguments: the positional ones, then one keyword-arguments object if any were named.</summary>
    public List<Value> EvaluateCallArguments(IReadOnlyList<Node> args, Scope scope)
    {
        if (args.Any(a => a is KeywordArgumentNode or SpreadNode))
        {
            var (positional, keywords) = EvaluateArguments(args, scope);
            if (keywords.Count > 0)
            {
                positional.Add(new ObjectValue(keywords, ObjectKind.KeywordArguments));
            }
            return positional;
        }
        return [.. args.Select(a => Evaluate(a, scope))];
    }

    public (List<Value> Positional, OrderedDictionary<string, Value> Keywords) EvaluateArguments(IReadOnlyList<Node> args, Scope scope)
    {
        var positional = new List<Value>();
        var keywords = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        void AddKeyword(string key, Value value)
        {
            if (!keywords.TryAdd(key, value))
            {
                throw new JinjaError($"Got multiple values for keyword argument '{key}'");
            }
        }
        foreach (var argument in args)
        {
            if (argument is SpreadNode { Keywords: false } spread)
            {
                if (Evaluate(spread.Operand, scope) is not ArrayValue list)
                {
                    throw new JinjaError($"Cannot unpack non-iterable type: {Evaluate(spread.Operand, scope).TypeName}");
                }
                positional.AddRange(list.Items);
            }
            else if (argument is not (KeywordArgumentNode or SpreadNode))
            {
                positional.Add(Evaluate(argument, scope));
            }
        }
        foreach (var argument in args)
        {
            if (argument is KeywordArgumentNode keyword)
            {
                AddKeyword(keyword.Key, Evaluate(keyword.Value, scope));
            }
            else if (argument is SpreadNode { Keywords: true } spread)
            {
                if (Evaluate(spread.Operand, scope) is not ObjectValue { IsMapping: true } map)
                {
                    throw new JinjaError($"Argument after ** must be a mapping, not {Evaluate(spread.Operand, scope).TypeName}");
                }
                foreach (var (key, value) in map.Entries)
                {
                    AddKeyword(key, value);
                }
            }
        }
        return (positional, keywords);
    }

    Value EvaluateMember(MemberNode node, Scope scope)
    {
        var target = Evaluate(node.Target, scope);
        Value property;
        if (node.Computed)
        {
            if (node.Property is SliceNode slice)
            {
                return EvaluateSlice(target, slice, scope);
            }
            property = Evaluate(node.Property, scope);
        }
        else if (node.Property is IntegerLiteral index)
        {
            property = NumberValue.Integer(index.Value);
        }
        else
        {
            property = new StringValue(((IdentifierNode)node.Property).Name);
        }
        Value? value;
        if (target is ObjectValue obj)
        {
            if (property is not StringValue name)
            {
                throw new JinjaError($"Cannot access property with non-string: got {property.TypeName}");
            }
            value = obj.Entries.GetValueOrDefault(name.Value) ?? obj.Builtin(name.Value);
        }
        else if (target is ArrayValue or StringValue)
        {
            if (property is NumberValue n)
            {
                value = target is ArrayValue list ? At(list.Items, n.Value) : At(((StringValue)target).Value, n.Value);
            }
            else if (property is StringValue name)
            {
                value = target.Builtin(name.Value);
            }
            else
            {
                throw new JinjaError($"Cannot access property with non-string/non-number: got {property.TypeName}");
            }
        }
        else
        {
            if (property is not StringValue name)
            {
                throw new JinjaError($"Cannot access property with non-string: got {property.TypeName}");
            }
            value = target.Builtin(name.Value);
        }
        return value ?? UndefinedValue.Instance;
    }

    /// <summary>JavaScript's <c>Array.prototype.at</c>: negative indices count from the end; fractions truncate.</summary>
    static Value? At(List<Value> items, double index)
    {
        double i = Math.Truncate(index);
        if (i < 0)
        {
            i += items.Count;
        }
        return i >= 0 && i < items.Count ? items[(int)i] : null;
    }

    static StringValue? At(string s, double index)
    {
        double i = Math.Truncate(index);
        if (i < 0)
        {
            i += s.Length;
        }
        return i >= 0 && i < s.Length ? new StringValue(s[(int)i].ToString()) : null;
    }

    Value EvaluateSlice(Value target, SliceNode slice, Scope scope)
    {
        if (target is not (ArrayValue or StringValue))
        {
            throw new JinjaError("Slice object must be an array or string");
        }
        double? Part(Node? part, string name)
        {
            var v = Evaluate(part, scope);
            return v switch
            {
                UndefinedValue => null,
                NumberValue { IsFloat: false } n => n.Value,
                _ => throw new JinjaError($"Slice {name} must be numeric or undefined"),
            };
        }
        var start = Part(slice.Start, "start");
        var stop = Part(slice.Stop, "stop");
        var step = Part(slice.Step, "step");
        if (target is ArrayValue list)
        {
            return new ArrayValue(Slice(list.Items, start, stop, step ?? 1));
        }
        // Strings slice by code point (JavaScript's Array.from of a string).
        var codePoints = CodePoints(((StringValue)target).Value);
        return new StringValue(string.Concat(Slice(codePoints, start, stop, step ?? 1)));
    }

    public static List<string> CodePoints(string s)
    {
        var result = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsSurrogatePair(s, i))
            {
                result.Add(s.Substring(i, 2));
                i++;
            }
            else
            {
                result.Add(s[i].ToString());
            }
        }
        return result;
    }

    /// <summary>Python's <c>seq[start:stop:step]</c>.</summary>
    static List<T> Slice<T>(List<T> items, double? start, double? stop, double step)
    {
        int count = items.Count;
        double direction = Math.Sign(step);
        double from, to;
        if (direction >= 0)
        {
            from = (start ?? 0) < 0 ? Math.Max(count + start!.Value, 0) : Math.Min(start ?? 0, count);
            to = (stop ?? count) < 0 ? Math.Max(count + stop!.Value, 0) : Math.Min(stop ?? count, count);
        }
        else
        {
            from = (start ?? count - 1) < 0 ? Math.Max(count + start!.Value, -1) : Math.Min(start ?? count - 1, count - 1);
            to = (stop ?? -1) < -1 ? Math.Max(count + stop!.Value, -1) : Math.Min(stop ?? -1, count - 1);
        }
        var result = new List<T>();
        if (step == 0)
        {
            return result;
        }
        for (double i = from; direction * i < direction * to; i += step)
        {
            result.Add(items[(int)i]);
        }
        return result;
    }

    void ExecuteSet(SetNode node, Scope scope)
    {
        var value = node.Value is not null ? Evaluate(node.Value, scope) : new StringValue(RenderBlock(node.Body, scope));
        switch (node.Target)
        {
            case IdentifierNode id:
                scope.Set(id.Name, value);
                break;
            case TupleLiteral tuple:
                if (value is not ArrayValue list)
                {
                    throw At(node, $"Cannot unpack non-iterable type in set: {value.TypeName}");
                }
                if (list.Items.Count != tuple.Items.Count)
                {
                    throw At(node, $"Too {(tuple.Items.Count > list.Items.Count ? "few" : "many")} items to unpack in set");
                }
                for (int i = 0; i < tuple.Items.Count; i++)
                {
                    if (tuple.Items[i] is not IdentifierNode name)
                    {
                        throw At(node, "Cannot unpack to non-identifier in set");
                    }
                    scope.Set(name.Name, list.Items[i]);
                }
                break;
            case MemberNode member:
                if (Evaluate(member.Target, scope) is not ObjectValue { Kind: ObjectKind.Namespace } ns)
                {
                    throw At(node, "cannot assign attribute on non-namespace object");
                }
                if (member.Property is not IdentifierNode property)
                {
                    throw At(node, "Cannot assign to member with non-identifier property");
                }
                ns.Entries[property.Name] = value;
                break;
            default:
                throw At(node, "Invalid LHS inside assignment expression");
        }
    }

    string RenderIf(IfNode node, Scope scope) =>
        RenderBlock(Evaluate(node.Test, scope).IsTrue ? node.Body : node.Alternate, scope);

    void BindLoopVariable(Node target, Value current, Scope scope)
    {
        if (target is IdentifierNode id)
        {
            scope.Set(id.Name, current);
            return;
        }
        var names = ((TupleLiteral)target).Items;
        var values = ((ArrayValue)current).Items;
        for (int j = 0; j < names.Count; j++)
        {
            if (names[j] is not IdentifierNode name)
            {
                throw At(target, "Cannot unpack non-identifier type");
            }
            scope.Set(name.Name, j < values.Count ? values[j] : UndefinedValue.Instance);
        }
    }

    string RenderFor(ForNode node, Scope outer)
    {
        var scope = new Scope(outer);
        Node? test = null;
        Value iterable;
        if (node.Iterable is SelectNode select)
        {
            iterable = Evaluate(select.Value, scope);
            test = select.Test;
        }
        else
        {
            iterable = Evaluate(node.Iterable, scope);
        }
        if (iterable is ObjectValue { IsMapping: true } map)
        {
            iterable = map.Keys();
        }
        if (iterable is not ArrayValue list)
        {
            throw At(node.Iterable, $"Expected iterable or object type in for loop: got {iterable.TypeName}");
        }
        var items = new List<Value>();
        foreach (var current in list.Items)
        {
            if (node.Target is TupleLiteral tuple)
            {
                if (current is not ArrayValue { IsTuple: false } unpacked)
                {
                    throw At(node.Target, $"Cannot unpack non-iterable type: {current.TypeName}");
                }
                if (tuple.Items.Count != unpacked.Items.Count)
                {
                    throw At(node.Target, $"Too {(tuple.Items.Count > unpacked.Items.Count ? "few" : "many")} items to unpack");
                }
            }
            if (test is not null)
            {
                var testScope = new Scope(scope);
                BindLoopVariable(node.Target, current, testScope);
                if (!Evaluate(test, testScope).IsTrue)
                {
                    continue;
                }
            }
            items.Add(current);
        }
        var sb = new StringBuilder();
        bool noIteration = true;
        for (int i = 0; i < items.Count; i++)
        {
            scope.Set("loop", Loop(i, items));
            BindLoopVariable(node.Target, items[i], scope);
            try
            {
                sb.Append(RenderBlock(node.Body, scope));
            }
            catch (ContinueSignal)
            {
                continue;
            }
            catch (BreakSignal)
            {
                break;
            }
            noIteration = false;
        }
        if (noIteration)
        {
            sb.Append(RenderBlock(node.Else, scope));
        }
        return sb.ToString();
    }

    static ObjectValue Loop(int i, List<Value> items)
    {
        int length = items.Count;
        return new ObjectValue(new OrderedDictionary<string, Value>(StringComparer.Ordinal)
        {
            ["index"] = NumberValue.Integer(i + 1),
            ["index0"] = NumberValue.Integer(i),
            ["revindex"] = NumberValue.Integer(length - i),
            ["revindex0"] = NumberValue.Integer(length - i - 1),
            ["first"] = BooleanValue.Of(i == 0),
            ["last"] = BooleanValue.Of(i == length - 1),
            ["length"] = NumberValue.Integer(length),
            ["previtem"] = i > 0 ? items[i - 1] : UndefinedValue.Instance,
            ["nextitem"] = i < length - 1 ? items[i + 1] : UndefinedValue.Instance,
        });
    }

    /// <summary>
    /// Binds a macro's (or a call block's) parameters: positional arguments, then keyword ones, then defaults
    /// evaluated in the new scope; extra ones go to <c>varargs</c> and <c>kwargs</c>.
    /// </summary>
    void BindArguments(string displayName, IReadOnlyList<Node> parameters, List<Value> args, Scope scope)
    {
        var (positional, keywordEntries) = Runtime.SplitKeywords(args);
        var keywords = new OrderedDictionary<string, Value>(keywordEntries, StringComparer.Ordinal);
        var pending = new List<(string Name, Node Default)>();
        for (int i = 0; i < parameters.Count; i++)
        {
            var (name, defaultValue) = parameters[i] switch
            {
                IdentifierNode id => (id.Name, (Node?)null),
                KeywordArgumentNode kw => (kw.Key, kw.Value),
                _ => throw new JinjaError("Expected identifier for parameter declaration"),
            };
            Value? value = i < positional.Count ? positional[i] : null;
            if (value is null && keywords.Remove(name, out var named))
            {
                value = named;
            }
            if (value is null && defaultValue is not null)
            {
                pending.Add((name, defaultValue));
            }
            scope.Set(name, value ?? UndefinedValue.Instance);
        }
        scope.Set("kwargs", new ObjectValue(keywords));
        scope.Set("varargs", new ArrayValue([.. positional.Skip(parameters.Count)]));
        _ = displayName;
        foreach (var (name, defaultValue) in pending)
        {
            scope.Set(name, Evaluate(defaultValue, scope));
        }
    }

    void DefineMacro(MacroNode node, Scope scope)
    {
        scope.Set(node.Name, new FunctionValue((args, callSite) =>
        {
            var parent = new Scope(scope);
            parent.Set("caller", callSite.IsCallBlock && callSite.TryGetLocal("caller", out var caller) ? caller : UndefinedValue.Instance);
            var macroScope = new Scope(parent);
            BindArguments($"'{node.Name}'", node.Parameters, args, macroScope);
            return new StringValue(RenderBlock(node.Body, macroScope));
        }));
    }

    Value EvaluateCallBlock(CallBlockNode node, Scope scope)
    {
        var parameters = node.CallerParameters ?? [];
        var callerFunction = new FunctionValue((callerArgs, _) =>
        {
            var blockScope = new Scope(scope);
            BindArguments("None", parameters, callerArgs, blockScope);
            return new StringValue(RenderBlock(node.Body, blockScope));
        });
        var (macroArgs, macroKeywords) = EvaluateArguments(node.Call.Arguments, scope);
        macroArgs.Add(new ObjectValue(macroKeywords, ObjectKind.KeywordArguments));
        if (Evaluate(node.Call.Callee, scope) is not FunctionValue fn)
        {
            throw new JinjaError($"Cannot call something that is not a function: got {Evaluate(node.Call.Callee, scope).TypeName}");
        }
        var callSite = new Scope(scope) { IsCallBlock = true };
        callSite.Set("caller", callerFunction);
        return fn.Call(macroArgs, callSite);
    }
}
