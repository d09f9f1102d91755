using System.Text;
using Quanta.Templates.Go;

namespace Quanta.Templates.Ollama;

/// <summary>
/// A tool the model may call, as an Ollama TEMPLATE sees it (ollama/ollama <c>template/template.go</c>,
/// <c>templateTool</c>; <c>api/types.go</c>, <c>Tool</c>). It prints as its JSON, as Ollama's type does.
/// </summary>
/// <param name="Type">Usually "function".</param>
public sealed record PromptTool(string Type, PromptToolFunction Function) : IGoJsonValue
{
    /// <summary>Decoded JSON, or null.</summary>
    public object? Items { get; init; }

    public override string ToString() => ToGoJson();

    string IGoJsonValue.ToGoJson() => ToGoJson();

    internal string ToGoJson() => new JsonFields().Value("type", Type).ValueOmitNull("items", Items).Value("function", Function).ToString();
}

/// <summary>The function of a tool: its name, description and parameter schema.</summary>
public sealed record PromptToolFunction(string Name, string Description, PromptToolParameters Parameters) : IGoJsonValue
{
    public override string ToString() => GoStruct.Format(Name, Description, Parameters);

    string IGoJsonValue.ToGoJson() =>
        new JsonFields().Value("name", Name).Value("description", Description).Value("parameters", Parameters).ToString();
}

/// <summary>A tool's parameter schema (Ollama's <c>templateToolFunctionParameters</c>).</summary>
/// <param name="Type">Usually "object".</param>
/// <param name="Properties">The parameters by name; an empty map marked absent when the schema had none.</param>
public sealed record PromptToolParameters(string Type, PromptToolProperties Properties) : IGoJsonValue
{
    /// <summary>The schema's <c>$defs</c>, decoded JSON, or null.</summary>
    public object? Defs { get; init; }

    /// <summary>Decoded JSON, or null.</summary>
    public object? Items { get; init; }

    public IReadOnlyList<string> Required { get; init; } = [];

    public override string ToString() => GoStruct.Format(Type, Defs, Items, Required, Properties);

    string IGoJsonValue.ToGoJson() => new JsonFields().Value("type", Type).ValueOmitNull("$defs", Defs).ValueOmitNull("items", Items)
        .ValueOmitEmpty("required", Required).Value("properties", Properties).ToString();
}

/// <summary>
/// A tool's parameters by name (Ollama's <c>templateProperties</c>): ranges in key order and prints as its JSON, or
/// as <c>{}</c> (JSON <c>null</c>) when <see cref="IsAbsent"/>, a Go nil map.
/// </summary>
public sealed class PromptToolProperties : Dictionary<string, PromptToolProperty>, IGoJsonValue
{
    public PromptToolProperties()
        : base(StringComparer.Ordinal)
    {
    }

    /// <summary>The schema had no <c>properties</c> (Go's nil map, which JSON writes as null).</summary>
    public bool IsAbsent { get; init; }

    public override string ToString() => IsAbsent ? "{}" : ToGoJson();

    string IGoJsonValue.ToGoJson() => ToGoJson();

    string ToGoJson()
    {
        if (IsAbsent)
        {
            return "null";
        }
        var fields = new JsonFields();
        foreach (var name in Keys.Order(StringComparer.Ordinal))
        {
            fields.Value(name, this[name]);
        }
        return fields.ToString();
    }
}

/// <summary>One parameter of a tool (Ollama's <c>api.ToolProperty</c>; nested object properties are not modelled).</summary>
public sealed record PromptToolProperty : IGoJsonValue
{
    public IReadOnlyList<PromptToolProperty> AnyOf { get; init; } = [];

    /// <summary>The JSON Schema type or types.</summary>
    public PromptPropertyType Type { get; init; } = [];

    /// <summary>Decoded JSON, or null.</summary>
    public object? Items { get; init; }

    public string Description { get; init; } = "";

    /// <summary>Decoded JSON values.</summary>
    public IReadOnlyList<object?> Enum { get; init; } = [];

    public IReadOnlyList<string> Required { get; init; } = [];

    /// <summary>Go's <c>%v</c>: the nil <c>Properties</c> pointer of Ollama's struct prints as <c>&lt;nil&gt;</c> before Required.</summary>
    public override string ToString() => GoStruct.Format(AnyOf, Type, Items, Description, Enum, null, Required);

    /// <summary>Ollama's <c>ToolProperty.ToTypeScriptType</c>, what the template function <c>toTypeScriptType</c> gives.</summary>
    public string ToTypeScriptType() =>
        AnyOf.Count > 0 ? string.Join(" | ", AnyOf.Select(p => p.ToTypeScriptType()))
        : Type.Count == 0 ? "any"
        : string.Join(" | ", Type.Select(TypeScriptType));

    static string TypeScriptType(string jsonType) => jsonType switch
    {
        "string" => "string",
        "number" or "integer" => "number",
        "boolean" => "boolean",
        "array" => "any[]",
        "object" => "Record<string, any>",
        "null" => "null",
        _ => "any",
    };

    string IGoJsonValue.ToGoJson() => new JsonFields().ValueOmitEmpty("anyOf", AnyOf)
        .RawOmitEmpty("type", Type.Count == 0 ? null : Type.Count == 1 ? GoJson.Marshal(Type[0]) : GoJson.Marshal(Type.ToList()))
        .ValueOmitNull("items", Items).RawOmitEmpty("description", Description.Length == 0 ? null : GoJson.Marshal(Description))
        .ValueOmitEmpty("enum", Enum).ValueOmitEmpty("required", Required).ToString();
}

/// <summary>A JSON Schema type: one name, or several (Ollama's <c>PropertyType</c>); prints as the name, or as <c>[a b]</c>.</summary>
public sealed class PromptPropertyType : List<string>
{
    public override string ToString() => Count == 0 ? "" : Count == 1 ? this[0] : "[" + string.Join(' ', this) + "]";
}

/// <summary>
/// The tools of a request (Ollama's <c>templateTools</c>): prints as its JSON; <see cref="IsAbsent"/> when the request
/// had none, a Go nil slice, which is false in an <c>if</c> and prints as <c>null</c>.
/// </summary>
public sealed class PromptToolList : List<PromptTool>, IGoJsonValue
{
    public PromptToolList()
    {
    }

    public PromptToolList(IEnumerable<PromptTool> tools)
        : base(tools)
    {
    }

    public bool IsAbsent { get; init; }

    public override string ToString() => ToGoJson();

    string IGoJsonValue.ToGoJson() => ToGoJson();

    string ToGoJson() => IsAbsent ? "null" : "[" + string.Join(',', this.Select(t => t.ToGoJson())) + "]";
}

/// <summary>A JSON object written field by field in declaration order, as Go's encoder writes a struct.</summary>
internal sealed class JsonFields
{
    readonly StringBuilder _sb = new("{");
    bool _first = true;

    public JsonFields Value(string name, object? value) => Raw(name, GoJson.Marshal(value) ?? "null");

    public JsonFields ValueOmitNull(string name, object? value) => value is null ? this : Value(name, value);

    public JsonFields ValueOmitEmpty<T>(string name, IReadOnlyCollection<T> value) => value.Count == 0 ? this : Value(name, value);

    public JsonFields RawOmitEmpty(string name, string? json) => json is null ? this : Raw(name, json);

    JsonFields Raw(string name, string json)
    {
        if (!_first)
        {
            _sb.Append(',');
        }
        _first = false;
        GoJson.AppendString(_sb, name);
        _sb.Append(':').Append(json);
        return this;
    }

    public override string ToString() => _sb + "}";
}
