using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quanta.Store;

/// <summary>The value type of a PARAMETER, as Ollama's <c>api.Options</c> and <c>api.Runner</c> declare it.</summary>
public enum ParameterKind
{
    Int,
    Float,
    Bool,
    StringList,
}

/// <summary>
/// A model's PARAMETERs: typed as Ollama types them (<c>api.FormatParams</c>), kept in key order, and written
/// as the JSON object of the <c>application/vnd.ollama.image.params</c> layer.
/// </summary>
public sealed class ModelParameters
{
    /// <summary>Every name Ollama accepts, with its type (api/types.go: Options and the embedded Runner).</summary>
    public static readonly IReadOnlyDictionary<string, ParameterKind> Known = new Dictionary<string, ParameterKind>(StringComparer.Ordinal)
    {
        ["num_keep"] = ParameterKind.Int,
        ["seed"] = ParameterKind.Int,
        ["num_predict"] = ParameterKind.Int,
        ["top_k"] = ParameterKind.Int,
        ["top_p"] = ParameterKind.Float,
        ["min_p"] = ParameterKind.Float,
        ["typical_p"] = ParameterKind.Float,
        ["repeat_last_n"] = ParameterKind.Int,
        ["temperature"] = ParameterKind.Float,
        ["repeat_penalty"] = ParameterKind.Float,
        ["presence_penalty"] = ParameterKind.Float,
        ["frequency_penalty"] = ParameterKind.Float,
        ["stop"] = ParameterKind.StringList,
        ["num_ctx"] = ParameterKind.Int,
        ["num_batch"] = ParameterKind.Int,
        ["num_gpu"] = ParameterKind.Int,
        ["main_gpu"] = ParameterKind.Int,
        ["use_mmap"] = ParameterKind.Bool,
        ["num_thread"] = ParameterKind.Int,
        ["draft_num_predict"] = ParameterKind.Int,
    };

    /// <summary>Names Ollama still recognises but ignores, with a warning (<c>deprecatedParameters</c>).</summary>
    public static readonly IReadOnlySet<string> Deprecated = new HashSet<string>(StringComparer.Ordinal)
    {
        "penalize_newline", "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mlock", "mirostat", "mirostat_tau", "mirostat_eta",
    };

    readonly SortedDictionary<string, JsonNode> _values = new(StringComparer.Ordinal);

    public int Count => _values.Count;

    public IEnumerable<string> Names => _values.Keys;

    public JsonNode this[string name] => _values[name];

    public bool TryGetValue(string name, out JsonNode? value) => _values.TryGetValue(name, out value);

    /// <summary>
    /// Adds one PARAMETER line's value: a string list (stop) gains an entry, anything else is set (the last
    /// line wins).
    /// </summary>
    /// <exception cref="FormatException">Unknown name or a value of the wrong type; the message is Ollama's wording.</exception>
    public void Add(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(text);
        if (!Known.TryGetValue(name, out var kind))
        {
            var suggestion = Suggest(name);
            throw new FormatException($"unknown parameter '{name}'" + (suggestion is null ? "" : $"; did you mean '{suggestion}'?"));
        }
        switch (kind)
        {
            case ParameterKind.Int:
                _values[name] = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                    ? JsonValue.Create(n)
                    : throw new FormatException($"invalid int value [{text}] for parameter '{name}'; expected a whole number");
                break;
            case ParameterKind.Float:
                _values[name] = float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && float.IsFinite(f)
                    ? JsonValue.Create(f)
                    : throw new FormatException($"invalid float value [{text}] for parameter '{name}'; expected a number such as 0.7");
                break;
            case ParameterKind.Bool:
                _values[name] = TryParseBool(text, out var b)
                    ? JsonValue.Create(b)
                    : throw new FormatException($"invalid bool value [{text}] for parameter '{name}'; expected true or false");
                break;
            default:
                if (_values.TryGetValue(name, out var list) && list is JsonArray array)
                {
                    array.Add(JsonValue.Create(text));
                }
                else
                {
                    _values[name] = new JsonArray(JsonValue.Create(text));
                }
                break;
        }
    }

    /// <summary>Sets <paramref name="name"/> to a value taken as it is (from a stored params layer or a parent model).</summary>
    public void Set(string name, JsonNode value) => _values[name] = value.DeepClone();

    /// <summary>The parent's parameters overridden, name by name, by these (Ollama's merge on create).</summary>
    public ModelParameters MergedOver(ModelParameters parent)
    {
        var merged = new ModelParameters();
        foreach (var (name, value) in parent._values)
        {
            merged.Set(name, value);
        }
        foreach (var (name, value) in _values)
        {
            merged.Set(name, value);
        }
        return merged;
    }

    /// <summary>The params layer: a JSON object, keys sorted as Go's encoder sorts map keys.</summary>
    public byte[] ToJson()
    {
        var obj = new JsonObject();
        foreach (var (name, value) in _values)
        {
            obj[name] = value.DeepClone();
        }
        return StoreJson.Serialize(obj);
    }

    /// <exception cref="FormatException">Not a JSON object.</exception>
    public static ModelParameters FromJson(ReadOnlySpan<byte> json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"the params layer is not valid JSON: {e.Message}", e);
        }
        if (node is not JsonObject obj)
        {
            throw new FormatException("the params layer is not a JSON object");
        }
        var parameters = new ModelParameters();
        foreach (var (name, value) in obj)
        {
            if (value is not null)
            {
                parameters.Set(name, value);
            }
        }
        return parameters;
    }

    /// <summary>One (name, text) pair per Modelfile PARAMETER line: a list gives one line per entry.</summary>
    public IEnumerable<(string Name, string Value)> Lines()
    {
        foreach (var (name, value) in _values)
        {
            if (value is JsonArray array)
            {
                foreach (var item in array)
                {
                    yield return (name, TextOf(item));
                }
            }
            else
            {
                yield return (name, TextOf(value));
            }
        }
    }

    /// <summary>A value as a Modelfile writes it: strings bare, numbers and booleans as JSON spells them.</summary>
    public static string TextOf(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => value.ToJsonString(StoreJson.Compact),
    };

    /// <summary>Go's <c>strconv.ParseBool</c>.</summary>
    static bool TryParseBool(string text, out bool value)
    {
        switch (text)
        {
            case "1" or "t" or "T" or "TRUE" or "true" or "True":
                value = true;
                return true;
            case "0" or "f" or "F" or "FALSE" or "false" or "False":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    static string? Suggest(string name)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var known in Known.Keys)
        {
            var d = Distance(name.ToLowerInvariant(), known);
            if (d < bestDistance)
            {
                (best, bestDistance) = (known, d);
            }
        }
        return best;
    }

    static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
