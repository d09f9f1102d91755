namespace Quanta.Templates.Jinja;

/// <summary>
/// The filters of <c>value | name</c> and <c>value | name(args)</c>, by operand type as @huggingface/jinja's
/// <c>applyFilter</c> has them; a filter a type lacks is an error naming both.
/// </summary>
static class Filters
{
    public static Value Apply(Interpreter interpreter, Value operand, Node filter, Scope scope) => filter switch
    {
        IdentifierNode name => ApplyBare(operand, name.Name),
        CallNode { Callee: IdentifierNode name } call => ApplyCall(interpreter, operand, name.Name, call.Arguments, scope),
        _ => throw new JinjaError("Unknown filter"),
    };

    static Value ApplyBare(Value operand, string name)
    {
        if (name == "safe")
        {
            return operand;
        }
        if (name == "tojson")
        {
            return new StringValue(JsText.ToJson(operand, null));
        }
        switch (operand)
        {
            case ArrayValue list:
                return name switch
                {
                    "list" => list,
                    "first" => list.Items.Count > 0 ? list.Items[0] : UndefinedValue.Instance,
                    "last" => list.Items.Count > 0 ? list.Items[^1] : UndefinedValue.Instance,
                    "length" or "count" => NumberValue.Integer(list.Items.Count),
                    "reverse" => new ArrayValue([.. Enumerable.Reverse(list.Items)]),
                    "sort" => new ArrayValue(Runtime.StableSort(list.Items, (a, b) => Runtime.Compare(a, b, false))),
                    "join" => new StringValue(string.Concat(list.Items.Select(Runtime.JoinText))),
                    "string" => new StringValue(JsText.ToJson(list, null, convertUndefinedToNull: false)),
                    "unique" => new ArrayValue(Unique(list.Items)),
                    _ => throw new JinjaError($"Unknown ArrayValue filter: {name}"),
                };
            case StringValue s:
                return name switch
                {
                    "length" or "count" => NumberValue.Integer(s.Value.Length),
                    "upper" => new StringValue(s.Value.ToUpperInvariant()),
                    "lower" => new StringValue(s.Value.ToLowerInvariant()),
                    "title" => new StringValue(StringMethods.TitleCase(s.Value)),
                    "capitalize" => new StringValue(StringMethods.Capitalize(s.Value)),
                    "trim" => new StringValue(Lexer.TrimJs(s.Value)),
                    "indent" => new StringValue(Indent(s.Value, "    ", first: false, blank: false)),
                    "join" or "string" => s,
                    "int" => ParseInt(s.Value) is { } i ? NumberValue.Integer(i) : NumberValue.Integer(0),
                    "float" => ParseFloat(s.Value) is { } f ? NumberValue.Float(f) : NumberValue.Float(0),
                    _ => throw new JinjaError($"Unknown StringValue filter: {name}"),
                };
            case NumberValue n:
                return name switch
                {
                    "abs" => new NumberValue(Math.Abs(n.Value), n.IsFloat),
                    "int" => NumberValue.Integer(Math.Truncate(n.Value) + 0),
                    "float" => NumberValue.Float(n.Value),
                    "string" => new StringValue(n.ToString()),
                    "round" => Round(n, 0, "common"),
                    _ => throw new JinjaError($"Unknown NumericValue filter: {name}"),
                };
            case ObjectValue { IsMapping: true } map:
                switch (name)
                {
                    case "items":
                        return map.Items();
                    case "length" or "count":
                        return NumberValue.Integer(map.Entries.Count);
                    default:
                        var builtin = map.Builtin(name) ?? throw new JinjaError($"Unknown ObjectValue filter: {name}");
                        return builtin is FunctionValue fn ? fn.Call([], new Scope(null)) : builtin;
                }
            case BooleanValue b:
                return name switch
                {
                    "bool" => b,
                    "int" => NumberValue.Integer(b.Value ? 1 : 0),
                    "float" => NumberValue.Float(b.Value ? 1 : 0),
                    "string" => new StringValue(b.ToString()),
                    _ => throw new JinjaError($"Unknown BooleanValue filter: {name}"),
                };
            default:
                throw new JinjaError($"Cannot apply filter \"{name}\" to type: {operand.TypeName}");
        }
    }

    /// <summary>
    /// Jinja2's <c>round</c> (beyond @huggingface/jinja, which lacks it): Python's <c>round</c> (half to even) for
    /// <c>common</c>, keeping an integer an integer; <c>ceil</c> and <c>floor</c> give floats.
    /// </summary>
    static NumberValue Round(NumberValue n, int precision, string method)
    {
        if (method == "common")
        {
            return new NumberValue(Math.Round(n.Value, Math.Clamp(precision, 0, 15), MidpointRounding.ToEven), n.IsFloat);
        }
        double scale = Math.Pow(10, precision);
        double scaled = n.Value * scale;
        return NumberValue.Float((method == "ceil" ? Math.Ceiling(scaled) : Math.Floor(scaled)) / scale);
    }

    static List<Value> Unique(List<Value> items)
    {
        var output = new List<Value>();
        foreach (var item in items)
        {
            if (!output.Any(x => Runtime.StrictEquals(x, item)))
            {
                output.Add(item);
            }
        }
        return output;
    }

    /// <summary>JavaScript's <c>parseInt(s, 10)</c>: optional sign and leading digits after white space; null when none.</summary>
    static double? ParseInt(string s)
    {
        var t = Lexer.TrimStartJs(s);
        int i = 0;
        bool negative = false;
        if (i < t.Length && t[i] is '+' or '-')
        {
            negative = t[i] == '-';
            i++;
        }
        int start = i;
        while (i < t.Length && char.IsAsciiDigit(t[i]))
        {
            i++;
        }
        if (i == start)
        {
            return null;
        }
        double value = double.Parse(t[start..i], System.Globalization.CultureInfo.InvariantCulture);
        return negative ? -value : value;
    }

    /// <summary>JavaScript's <c>parseFloat</c>: the longest leading decimal literal; null when none.</summary>
    static double? ParseFloat(string s)
    {
        var t = Lexer.TrimStartJs(s);
        for (int length = t.Length; length > 0; length--)
        {
            var candidate = t[..length];
            if (candidate.StartsWith("Infinity", StringComparison.Ordinal) || candidate.StartsWith("+Infinity", StringComparison.Ordinal))
            {
                return double.PositiveInfinity;
            }
            if (candidate.StartsWith("-Infinity", StringComparison.Ordinal))
            {
                return double.NegativeInfinity;
            }
            if (candidate.All(c => char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-')
                && !candidate.EndsWith('e') && !candidate.EndsWith('E')
                && double.TryParse(candidate, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }
        return null;
    }

    static string Indent(string s, string indent, bool first, bool blank) =>
        string.Join("\n", s.Split('\n').Select((line, i) => (!first && i == 0) || (!blank && line.Length == 0) ? line : indent + line));

    static Value Arg(List<Value> positional, int index, OrderedDictionary<string, Value> keywords, string name, Value fallback) =>
        positional.ElementAtOrDefault(index) ?? keywords.GetValueOrDefault(name) ?? fallback;

    static Value ApplyCall(Interpreter interpreter, Value operand, string name, IReadOnlyList<Node> argumentNodes, Scope scope)
    {
        switch (name)
        {
            case "tojson":
            {
                var (_, kwargs) = interpreter.EvaluateArguments(argumentNodes, scope);
                var indent = kwargs.GetValueOrDefault("indent") ?? NullValue.Instance;
                if (indent is not (NumberValue { IsFloat: false } or NullValue))
                {
                    throw new JinjaError("If set, indent must be a number");
                }
                var ensureAscii = kwargs.GetValueOrDefault("ensure_ascii") ?? BooleanValue.False;
                if (ensureAscii is not BooleanValue ascii)
                {
                    throw new JinjaError("If set, ensure_ascii must be a boolean");
                }
                var sortKeys = kwargs.GetValueOrDefault("sort_keys") ?? BooleanValue.False;
                if (sortKeys is not BooleanValue sort)
                {
                    throw new JinjaError("If set, sort_keys must be a boolean");
                }
                var separatorsArg = kwargs.GetValueOrDefault("separators") ?? NullValue.Instance;
                (string, string)? separators = null;
                if (separatorsArg is ArrayValue pair)
                {
                    if (pair.Items.Count != 2 || pair.Items[0] is not StringValue item || pair.Items[1] is not StringValue key)
                    {
                        throw new JinjaError("separators must be a tuple of two strings");
                    }
                    separators = (item.Value, key.Value);
                }
                else if (separatorsArg is not NullValue)
                {
                    throw new JinjaError("If set, separators must be a tuple of two strings");
                }
                int? width = indent is NumberValue n ? (int)n.Value : null;
                return new StringValue(JsText.ToJson(operand, width, convertUndefinedToNull: true, ascii.Value, sort.Value, separators));
            }
            case "join":
            {
                List<string> parts = operand switch
                {
                    StringValue s => Interpreter.CodePoints(s.Value),
                    ArrayValue list => [.. list.Items.Select(Runtime.JoinText)],
                    _ => throw new JinjaError($"Cannot apply filter \"{name}\" to type: {operand.TypeName}"),
                };
                var (args, kwargs) = interpreter.EvaluateArguments(argumentNodes, scope);
                if (Arg(args, 0, kwargs, "separator", new StringValue("")) is not StringValue separator)
                {
                    throw new JinjaError("separator must be a string");
                }
                return new StringValue(string.Join(separator.Value, parts));
            }
            case "int":
            case "float":
            {
                bool isInt = name == "int";
                var (args, kwargs) = interpreter.EvaluateArguments(argumentNodes, scope);
                var fallback = Arg(args, 0, kwargs, "default", isInt ? NumberValue.Integer(0) : NumberValue.Float(0));
                return operand switch
                {
                    StringValue s => (isInt ? ParseInt(s.Value) : ParseFloat(s.Value)) is { } v ? new NumberValue(v, !isInt) : fallback,
                    NumberValue n => isInt ? NumberValue.Integer(Math.Truncate(n.Value) + 0) : NumberValue.Float(n.Value),
                    BooleanValue b => new NumberValue(b.Value ? 1 : 0, !isInt),
                    _ => throw new JinjaError($"Cannot apply filter \"{name}\" to type: {operand.TypeName}"),
                };
            }
            case "default":
            case "d":
            {
                var (args, kwargs) = interpreter.EvaluateArguments(argumentNodes, scope);
                var fallback = args.ElementAtOrDefault(0) ?? new StringValue("");
                if (Arg(args, 1, kwargs, "boolean", BooleanValue.False) is not BooleanValue boolean)
                {
                    throw new JinjaError("`default` filter flag must be a boolean");
                }
                return operand is UndefinedValue || (boolean.Value && !operand.IsTrue) ? fallback : operand;
            }
        }
        switch (operand)
        {
            case ArrayValue list:
                return ApplyArrayCall(interpreter, list, name, argumentNodes, scope);
            case StringValue s when name == "indent":
            {
                var (args, kwargs) = interpreter.EvaluateArguments(argumentNodes, scope);
                var width = Arg(args, 0, kwargs, "width", NumberValue.Integer(4));
                var indent = width switch
                {
                    NumberValue { IsFloat: false } w => new string(' ', (int)Math.Max(0, w.Value)),
                    StringValue w => w.Value,
                    _ => throw new JinjaError("width must be an integer or a string"),
                };
                bool first = Arg(args, 1, kwargs, "first", BooleanValue.False).IsTrue;
                bool blank = Arg(args, 2, kwargs, "blank", BooleanValue.False).IsTrue;
                return new StringValue(Indent(s.Value, indent, first, blank));
            }
            case StringValue s when name == "replace":
            {
                var (args, kwargs) = interpreter.EvaluateArguments(argumentNodes, scope);
                var replace = (FunctionValue)s.Builtin("replace")!;
                return replace.Call([.. args, new ObjectValue(kwargs, ObjectKind.KeywordArguments)], scope);
            }
            case StringValue:
                throw new JinjaError($"Unknown StringValue filter: {name}");
            case NumberValue n when name == "round":
            {
                var (args, kwargs) = interpreter.EvaluateArguments(argumentNodes, scope);
                var precision = Arg(args, 0, kwargs, "precision", NumberValue.Integer(0));
                var rounding = Arg(args, 1, kwargs, "method", new StringValue("common"));
                if (precision is not NumberValue { IsFloat: false } digits || rounding is not StringValue { Value: "common" or "ceil" or "floor" } how)
                {
                    throw new JinjaError("round expects an integer precision and a method of 'common', 'ceil' or 'floor'");
                }
                return Round(n, (int)digits.Value, how.Value);
            }
            case ObjectValue { IsMapping: true } map:
                if (map.Builtin(name) is FunctionValue method)
                {
                    return method.Call(interpreter.EvaluateCallArguments(argumentNodes, scope), scope);
                }
                throw new JinjaError($"Unknown ObjectValue filter: {name}");
            default:
                throw new JinjaError($"Cannot apply filter \"{name}\" to type: {operand.TypeName}");
        }
    }

    /// <summary>An attribute path such as <c>"function.name"</c> or <c>"0"</c> looked up in an item.</summary>
    static Value AttributeOf(Value item, string path)
    {
        var value = item;
        foreach (var part in path.Split('.'))
        {
            if (value is ObjectValue obj)
            {
                value = obj.Entries.GetValueOrDefault(part) ?? UndefinedValue.Instance;
            }
            else if (value is ArrayValue list && int.TryParse(part, out int index) && index >= 0 && index < list.Items.Count)
            {
                value = list.Items[index];
            }
            else
            {
                return UndefinedValue.Instance;
            }
        }
        return value;
    }

    static Value ApplyArrayCall(Interpreter interpreter, ArrayValue list, string name, IReadOnlyList<Node> argumentNodes, Scope scope)
    {
        switch (name)
        {
            case "sort":
            {
                var (args, kwargs) = interpreter.EvaluateArguments(argumentNodes, scope);
                if (Arg(args, 0, kwargs, "reverse", BooleanValue.False) is not BooleanValue reverse)
                {
                    throw new JinjaError("reverse must be a boolean");
                }
                if (Arg(args, 1, kwargs, "case_sensitive", BooleanValue.False) is not BooleanValue caseSensitive)
                {
                    throw new JinjaError("case_sensitive must be a boolean");
                }
                var attribute = Arg(args, 2, kwargs, "attribute", NullValue.Instance);
                if (attribute is not (StringValue or NumberValue { IsFloat: false } or NullValue))
                {
                    throw new JinjaError("attribute must be a string, integer, or null");
                }
                Value Key(Value item) => attribute switch
                {
                    NullValue => item,
                    NumberValue n => AttributeOf(item, JsText.Number(n.Value)),
                    _ => AttributeOf(item, ((StringValue)attribute).Value),
                };
                return new ArrayValue(Runtime.StableSort(list.Items, (a, b) =>
                {
                    int r = Runtime.Compare(Key(a), Key(b), caseSensitive.Value);
                    return reverse.Value ? -r : r;
                }));
            }
            case "selectattr":
            case "rejectattr":
            {
                bool select = name == "selectattr";
                if (list.Items.Any(item => item is not ObjectValue { Kind: not ObjectKind.KeywordArguments }))
                {
                    throw new JinjaError($"`{name}` can only be applied to array of objects");
                }
                if (argumentNodes.Any(x => x is not StringLiteral))
                {
                    throw new JinjaError($"arguments of `{name}` must be strings");
                }
                var args = argumentNodes.Select(x => interpreter.Evaluate(x, scope)).ToList();
                var attribute = (StringValue)args[0];
                Func<Value, Value?, bool> test = args.Count > 1
                    ? (Runtime.IsTest(((StringValue)args[1]).Value) ? (v, arg) => Runtime.Test(((StringValue)args[1]).Value, v, arg) : throw new JinjaError($"Unknown test: {((StringValue)args[1]).Value}"))
                    : (v, _) => v.IsTrue;
                var argument = args.ElementAtOrDefault(2);
                return new ArrayValue([.. list.Items.Where(item =>
                {
                    var a = ((ObjectValue)item).Entries.GetValueOrDefault(attribute.Value);
                    bool result = a is not null && test(a, argument);
                    return select ? result : !result;
                })]);
            }
            case "map":
            {
                var (_, kwargs) = interpreter.EvaluateArguments(argumentNodes, scope);
                if (!kwargs.TryGetValue("attribute", out var attribute))
                {
                    throw new JinjaError("`map` expressions without `attribute` set are not currently supported.");
                }
                if (attribute is not StringValue path)
                {
                    throw new JinjaError("attribute must be a string");
                }
                var fallback = kwargs.GetValueOrDefault("default");
                return new ArrayValue([.. list.Items.Select(item =>
                {
                    if (item is not ObjectValue { Kind: not ObjectKind.KeywordArguments })
                    {
                        throw new JinjaError("items in map must be an object");
                    }
                    var value = AttributeOf(item, path.Value);
                    return value is UndefinedValue ? fallback ?? UndefinedValue.Instance : value;
                })]);
            }
            default:
                throw new JinjaError($"Unknown ArrayValue filter: {name}");
        }
    }
}
