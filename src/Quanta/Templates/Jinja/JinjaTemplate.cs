using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace Quanta.Templates.Jinja;

/// <summary>
/// A Jinja chat template (a GGUF's <c>tokenizer.chat_template</c>, a checkpoint's <c>chat_template</c>), rendered
/// as @huggingface/jinja (transformers.js) renders it: <c>lstrip_blocks</c> and <c>trim_blocks</c> on, its filters,
/// tests and string methods, <c>raise_exception</c>, <c>strftime_now</c>, <c>range</c> and <c>namespace</c>.
/// </summary>
public sealed class JinjaTemplate
{
    readonly TemplateBody _body;

    JinjaTemplate(string text, TemplateBody body)
    {
        Text = text;
        _body = body;
    }

    /// <summary>The template text.</summary>
    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <exception cref="JinjaException">Not a valid template; the message names the line and column.</exception>
    public static JinjaTemplate Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new JinjaTemplate(text, Parser.Parse(text));
    }

    /// <summary>
    /// Renders the template over <paramref name="variables"/> (<c>messages</c>, <c>tools</c>, <c>bos_token</c>,
    /// <c>eos_token</c>, <c>add_generation_prompt</c> and any others). Values are .NET values or JSON: strings,
    /// booleans, numbers (whole ones are integers, as JavaScript numbers become), lists, string-keyed dictionaries
    /// (in their order), <see cref="JsonElement"/>s, and objects whose public properties are read as a mapping.
    /// </summary>
    /// <param name="now">The clock for <c>strftime_now</c>; the local time when null.</param>
    /// <exception cref="JinjaException">Rendering failed (<c>raise_exception</c>, a type error); the message names the line.</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables, DateTime? now = null)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var globals = new Scope(null);
        globals.Set("namespace", new FunctionValue((args, _) => Namespace(args)));
        globals.Set("false", BooleanValue.False);
        globals.Set("true", BooleanValue.True);
        globals.Set("none", NullValue.Instance);
        globals.Set("False", BooleanValue.False);
        globals.Set("True", BooleanValue.True);
        globals.Set("None", NullValue.Instance);
        globals.Set("raise_exception", new FunctionValue((args, _) =>
            throw new JinjaError(args.Count > 0 ? RaiseText(args[0]) : "undefined")));
        globals.Set("range", new FunctionValue((args, _) => Range(args)));
        var clock = now;
        globals.Set("strftime_now", new FunctionValue((args, _) =>
            new StringValue(Strftime(clock ?? DateTime.Now, args.Count > 0 ? args[0].ToString() : ""))));
        foreach (var (name, value) in variables)
        {
            globals.Set(name, FromClr(value));
        }
        return new Interpreter(Text).Render(_body, globals);
    }

    static string RaiseText(Value v) => v switch
    {
        StringValue s => s.Value,
        NumberValue n => JsText.Number(n.Value),
        _ => v.ToString(),
    };

    static ObjectValue Namespace(List<Value> args)
    {
        var (positional, keywords) = Runtime.SplitKeywords(args);
        if (positional.Count > 1)
        {
            throw new JinjaError($"namespace expected at most 1 argument, got {positional.Count}");
        }
        var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        if (positional.Count == 1)
        {
            switch (positional[0])
            {
                case ObjectValue { IsMapping: true } map:
                    foreach (var (key, value) in map.Entries)
                    {
                        entries[key] = value;
                    }
                    break;
                case ArrayValue pairs:
                    foreach (var pair in pairs.Items)
                    {
                        if (pair is not ArrayValue { Items.Count: 2 } kv)
                        {
                            throw new JinjaError("namespace expected an object or an iterable of [key, value] pairs");
                        }
                        if (kv.Items[0] is not StringValue key)
                        {
                            throw new JinjaError("namespace keys must be strings");
                        }
                        entries[key.Value] = kv.Items[1];
                    }
                    break;
                default:
                    throw new JinjaError($"'{positional[0].TypeName}' object is not iterable");
            }
        }
        foreach (var (key, value) in keywords)
        {
            entries[key] = value;
        }
        return new ObjectValue(entries, ObjectKind.Namespace);
    }

    static ArrayValue Range(List<Value> args)
    {
        double Number(int i) => args[i] is NumberValue n ? n.Value : throw new JinjaError("range() arguments must be numbers");
        if (args.Count == 0)
        {
            throw new JinjaError("range() expects at least one argument");
        }
        double start = 0, stop, step = 1;
        if (args.Count == 1)
        {
            stop = Number(0);
        }
        else
        {
            start = Number(0);
            stop = Number(1);
            if (args.Count > 2)
            {
                step = Number(2);
            }
        }
        if (step == 0)
        {
            throw new JinjaError("range() step must not be zero");
        }
        var result = new List<Value>();
        for (double i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            result.Add(new NumberValue(i, i % 1 != 0));
        }
        return new ArrayValue(result);
    }

    /// <summary>The runtime's <c>strftime</c>: only %Y %m %d %b %B %H %M %%; any other directive stays as written.</summary>
    static string Strftime(DateTime now, string format)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            char d = format[i + 1];
            string? text = d switch
            {
                'Y' => now.Year.ToString(CultureInfo.InvariantCulture),
                'm' => now.Month.ToString("00", CultureInfo.InvariantCulture),
                'd' => now.Day.ToString("00", CultureInfo.InvariantCulture),
                'b' => now.ToString("MMM", CultureInfo.InvariantCulture),
                'B' => now.ToString("MMMM", CultureInfo.InvariantCulture),
                'H' => now.Hour.ToString("00", CultureInfo.InvariantCulture),
                'M' => now.Minute.ToString("00", CultureInfo.InvariantCulture),
                '%' => "%",
                _ => null,
            };
            if (text is null)
            {
                sb.Append('%');
                continue;
            }
            sb.Append(text);
            i++;
        }
        return sb.ToString();
    }

    /// <summary>A .NET or JSON value as a runtime value, as the runtime converts JavaScript values.</summary>
    static Value FromClr(object? value)
    {
        switch (value)
        {
            case null:
                return NullValue.Instance;
            case Value v:
                return v;
            case string s:
                return new StringValue(s);
            case bool b:
                return BooleanValue.Of(b);
            case JsonElement e:
                return FromJson(e);
            case sbyte or byte or short or ushort or int or uint or long or ulong:
                return NumberValue.Integer(Convert.ToDouble(value, CultureInfo.InvariantCulture));
            case float or double or decimal:
            {
                double d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                return new NumberValue(d, !(double.IsFinite(d) && d % 1 == 0));
            }
            case IDictionary dictionary:
            {
                var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
                foreach (DictionaryEntry entry in dictionary)
                {
                    entries[Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? ""] = FromClr(entry.Value);
                }
                return new ObjectValue(entries);
            }
            case IEnumerable<KeyValuePair<string, object?>> pairs:
            {
                var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
                foreach (var (key, item) in pairs)
                {
                    entries[key] = FromClr(item);
                }
                return new ObjectValue(entries);
            }
            case IEnumerable items:
                return new ArrayValue([.. items.Cast<object?>().Select(FromClr)]);
            default:
            {
                var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
                foreach (var property in value.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0))
                {
                    entries[property.Name] = FromClr(property.GetValue(value));
                }
                return new ObjectValue(entries);
            }
        }
    }

    static Value FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => new ObjectValue(new OrderedDictionary<string, Value>(
            e.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, FromJson(p.Value))), StringComparer.Ordinal)),
        JsonValueKind.Array => new ArrayValue([.. e.EnumerateArray().Select(FromJson)]),
        JsonValueKind.String => new StringValue(e.GetString()!),
        JsonValueKind.Number => FromClr(e.GetDouble()),
        JsonValueKind.True => BooleanValue.True,
        JsonValueKind.False => BooleanValue.False,
        JsonValueKind.Null => NullValue.Instance,
        _ => UndefinedValue.Instance,
    };
}
