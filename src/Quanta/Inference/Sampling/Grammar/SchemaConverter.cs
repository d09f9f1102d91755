using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// llama.cpp's <c>SchemaConverter</c> (common/json-schema-to-grammar.cpp, February 2025): walks a JSON schema
/// and collects GBNF rules named after the schema's paths, so that the grammar it writes is llama.cpp's,
/// rule for rule and byte for byte. Supported: <c>type</c> (and lists of types), <c>const</c>, <c>enum</c>,
/// <c>properties</c> / <c>required</c> / <c>additionalProperties</c> (optional properties in schema order),
/// <c>allOf</c> of objects, <c>anyOf</c> / <c>oneOf</c>, <c>items</c> / <c>prefixItems</c> with
/// <c>minItems</c> / <c>maxItems</c>, string <c>minLength</c> / <c>maxLength</c>, <c>pattern</c> (a regular
/// expression anchored with ^ and $), the formats date, time, date-time and uuid, integer bounds, and local
/// <c>$ref</c> (<c>#/$defs/...</c>, <c>#/definitions/...</c>). Remote references cannot be fetched.
/// </summary>
sealed partial class SchemaConverter
{
    readonly bool dotAll;
    readonly SortedDictionary<string, string> rules = new(StringComparer.Ordinal);
    readonly Dictionary<string, JsonNode?> refs = new(StringComparer.Ordinal);
    readonly HashSet<string> refsBeingResolved = new(StringComparer.Ordinal);
    readonly List<string> errors = [];

    public SchemaConverter(bool dotAll = false, bool compactSpaces = false)
    {
        this.dotAll = dotAll;
        rules["space"] = compactSpaces ? "\" \"?" : JsonSchemaBuiltinRules.Space;
    }

    /// <summary>Problems that make the grammar unusable, listed by <see cref="Format"/>.</summary>
    public IReadOnlyList<string> Errors => errors;

    /// <summary>Unsupported pattern syntax met (llama.cpp prints these as a warning and goes on).</summary>
    public List<string> Warnings { get; } = [];

    [GeneratedRegex("[^a-zA-Z0-9-]+")]
    private static partial Regex InvalidRuleChars();

    [GeneratedRegex("^uuid[1-5]?$")]
    private static partial Regex UuidFormat();

    /// <summary>The grammar: every rule as <c>name ::= body</c>, in name order; throws when there were errors.</summary>
    public string Format()
    {
        if (errors.Count > 0)
        {
            throw new JsonSchemaConversionException("JSON schema conversion failed:\n" + string.Join("\n", errors));
        }
        var output = new StringBuilder();
        foreach (var (name, body) in rules)
        {
            output.Append(name).Append(" ::= ").Append(body).Append('\n');
        }
        return output.ToString();
    }

    /// <summary>Adds a rule under a name made of letters, digits and dashes; a different body under a taken name gets a number.</summary>
    public string AddRule(string name, string rule)
    {
        var escaped = InvalidRuleChars().Replace(name, "-");
        if (!rules.TryGetValue(escaped, out var existing) || existing == rule)
        {
            rules[escaped] = rule;
            return escaped;
        }
        var i = 0;
        while (rules.TryGetValue(escaped + Number(i), out var taken) && taken != rule)
        {
            i++;
        }
        var key = escaped + Number(i);
        rules[key] = rule;
        return key;
    }

    static string Number(int i) => i.ToString(CultureInfo.InvariantCulture);

    static bool Contains(JsonNode? node, string key) => node is JsonObject o && o.ContainsKey(key);

    static JsonNode? Get(JsonNode? node, string key) => node is JsonObject o && o.TryGetPropertyValue(key, out var value) ? value : null;

    static bool IsString(JsonNode? node, string text) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == text;

    static string GetString(JsonNode? node, string what) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>()
            : throw new JsonSchemaConversionException($"{what} must be a string, not {NlohmannJson.Dump(node)}");

    static int GetInt(JsonNode? node, string what) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? (int)v.GetValue<double>()
            : throw new JsonSchemaConversionException($"{what} must be a number, not {NlohmannJson.Dump(node)}");

    static bool IsInteger(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.ToJsonString().IndexOfAny(['.', 'e', 'E']) < 0;

    static bool IsEmpty(JsonNode? node) => node switch
    {
        null => true,
        JsonObject o => o.Count == 0,
        JsonArray a => a.Count == 0,
        _ => node.GetValueKind() == JsonValueKind.Null,
    };

    static List<JsonNode?> Items(JsonNode? node, string what) =>
        node is JsonArray array ? [.. array] : throw new JsonSchemaConversionException($"{what} must be an array, not {NlohmannJson.Dump(node)}");

    static IEnumerable<KeyValuePair<string, JsonNode?>> Properties(JsonNode? node) =>
        node is JsonObject o ? o : [];

    /// <summary>
    /// Rewrites every local <c>$ref</c> to <paramref name="url"/> + the reference and records the schema it
    /// points to (<c>resolve_refs</c>).
    /// </summary>
    public void ResolveRefs(JsonNode? schema, string url)
    {
        void VisitRefs(JsonNode? n)
        {
            if (n is JsonArray array)
            {
                foreach (var x in array)
                {
                    VisitRefs(x);
                }
                return;
            }
            if (n is not JsonObject obj)
            {
                return;
            }
            if (!obj.ContainsKey("$ref"))
            {
                foreach (var (_, value) in obj.ToList())
                {
                    VisitRefs(value);
                }
                return;
            }
            var reference = GetString(obj["$ref"], "$ref");
            if (refs.ContainsKey(reference))
            {
                return;
            }
            JsonNode? target = null;
            if (reference.StartsWith("https://", StringComparison.Ordinal))
            {
                // llama.cpp's converter has no fetcher: a remote schema resolves to null
                var hash = reference.IndexOf('#', StringComparison.Ordinal);
                var baseUrl = hash < 0 ? reference : reference[..hash];
                if (refs.TryGetValue(baseUrl, out var known))
                {
                    target = known;
                }
                else
                {
                    refs[baseUrl] = null;
                }
                if (hash < 0 || hash == reference.Length - 1)
                {
                    return;
                }
            }
            else if (reference.StartsWith("#/", StringComparison.Ordinal))
            {
                target = schema;
                obj["$ref"] = url + reference;
                reference = url + reference;
            }
            else
            {
                errors.Add("Unsupported ref: " + reference);
                return;
            }
            var pointer = reference[(reference.IndexOf('#', StringComparison.Ordinal) + 1)..];
            var tokens = pointer.Split('/');
            for (var i = 1; i < tokens.Length; i++)
            {
                var selector = tokens[i];
                if (target is not JsonObject targetObject || !targetObject.ContainsKey(selector))
                {
                    errors.Add($"Error resolving ref {reference}: {selector} not in {NlohmannJson.Dump(target)}");
                    return;
                }
                target = targetObject[selector];
            }
            refs[reference] = target;
        }

        VisitRefs(schema);
    }

    /// <summary>The rule for <paramref name="schema"/> under <paramref name="name"/> ("" for the root) (<c>visit</c>).</summary>
    public string Visit(JsonNode? schema, string name)
    {
        var schemaType = Get(schema, "type");
        var schemaFormat = Contains(schema, "format") ? GetString(Get(schema, "format"), "format") : "";
        var ruleName = JsonSchemaBuiltinRules.IsReserved(name) ? name + "-" : name.Length == 0 ? "root" : name;
        var typeIsNull = schemaType is null || schemaType.GetValueKind() == JsonValueKind.Null;

        if (Contains(schema, "$ref"))
        {
            return AddRule(ruleName, ResolveRef(GetString(Get(schema, "$ref"), "$ref")));
        }
        if (Contains(schema, "oneOf") || Contains(schema, "anyOf"))
        {
            var alternatives = Items(Contains(schema, "oneOf") ? Get(schema, "oneOf") : Get(schema, "anyOf"), "oneOf/anyOf");
            return AddRule(ruleName, UnionRule(name, alternatives));
        }
        if (schemaType is JsonArray types)
        {
            var alternatives = new List<JsonNode?>();
            foreach (var type in types)
            {
                var copy = schema!.DeepClone();
                copy["type"] = type?.DeepClone();
                alternatives.Add(copy);
            }
            return AddRule(ruleName, UnionRule(name, alternatives));
        }
        if (Contains(schema, "const"))
        {
            return AddRule(ruleName, ConstantRule(Get(schema, "const")) + " space");
        }
        if (Contains(schema, "enum"))
        {
            var values = Items(Get(schema, "enum"), "enum").Select(ConstantRule);
            return AddRule(ruleName, "(" + string.Join(" | ", values) + ") space");
        }
        if ((typeIsNull || IsString(schemaType, "object"))
            && (Contains(schema, "properties") || (Contains(schema, "additionalProperties") && !IsTrue(Get(schema, "additionalProperties")))))
        {
            var required = new HashSet<string>(StringComparer.Ordinal);
            if (Get(schema, "required") is JsonArray requiredList)
            {
                foreach (var item in requiredList)
                {
                    if (item is JsonValue v && v.GetValueKind() == JsonValueKind.String)
                    {
                        required.Add(v.GetValue<string>());
                    }
                }
            }
            var properties = Properties(Get(schema, "properties")).ToList();
            return AddRule(ruleName, ObjectRule(properties, required, name, Get(schema, "additionalProperties")));
        }
        if ((typeIsNull || IsString(schemaType, "object")) && Contains(schema, "allOf"))
        {
            var required = new HashSet<string>(StringComparer.Ordinal);
            var properties = new List<KeyValuePair<string, JsonNode?>>();
            void AddComponent(JsonNode? component, bool isRequired)
            {
                if (Contains(component, "$ref"))
                {
                    AddComponent(refs.GetValueOrDefault(GetString(Get(component, "$ref"), "$ref")), isRequired);
                }
                else if (Contains(component, "properties"))
                {
                    foreach (var property in Properties(Get(component, "properties")))
                    {
                        properties.Add(property);
                        if (isRequired)
                        {
                            required.Add(property.Key);
                        }
                    }
                }
            }
            foreach (var part in Items(Get(schema, "allOf"), "allOf"))
            {
                if (Contains(part, "anyOf"))
                {
                    foreach (var alternative in Items(Get(part, "anyOf"), "anyOf"))
                    {
                        AddComponent(alternative, false);
                    }
                }
                else
                {
                    AddComponent(part, true);
                }
            }
            return AddRule(ruleName, ObjectRule(properties, required, name, null));
        }
        if ((typeIsNull || IsString(schemaType, "array")) && (Contains(schema, "items") || Contains(schema, "prefixItems")))
        {
            var items = Contains(schema, "items") ? Get(schema, "items") : Get(schema, "prefixItems");
            if (items is JsonArray tuple)
            {
                var rule = new StringBuilder("\"[\" space ");
                for (var i = 0; i < tuple.Count; i++)
                {
                    if (i > 0)
                    {
                        rule.Append(" \",\" space ");
                    }
                    rule.Append(Visit(tuple[i], Join(name, "tuple-" + Number(i))));
                }
                rule.Append(" \"]\" space");
                return AddRule(ruleName, rule.ToString());
            }
            var itemRule = Visit(items, Join(name, "item"));
            var minItems = Contains(schema, "minItems") ? GetInt(Get(schema, "minItems"), "minItems") : 0;
            var maxItemsNode = Get(schema, "maxItems");
            var maxItems = IsInteger(maxItemsNode) ? GetInt(maxItemsNode, "maxItems") : int.MaxValue;
            return AddRule(ruleName, "\"[\" space " + Repetition(itemRule, minItems, maxItems, "\",\" space") + " \"]\" space");
        }
        if ((typeIsNull || IsString(schemaType, "string")) && Contains(schema, "pattern"))
        {
            return VisitPattern(GetString(Get(schema, "pattern"), "pattern"), ruleName);
        }
        if ((typeIsNull || IsString(schemaType, "string")) && UuidFormat().IsMatch(schemaFormat))
        {
            return AddPrimitive(ruleName == "root" ? "root" : schemaFormat, JsonSchemaBuiltinRules.Primitives["uuid"]);
        }
        if ((typeIsNull || IsString(schemaType, "string")) && JsonSchemaBuiltinRules.StringFormats.TryGetValue(schemaFormat + "-string", out var formatRule))
        {
            return AddRule(ruleName, AddPrimitive(schemaFormat + "-string", formatRule));
        }
        if (IsString(schemaType, "string") && (Contains(schema, "minLength") || Contains(schema, "maxLength")))
        {
            var charRule = AddPrimitive("char", JsonSchemaBuiltinRules.Primitives["char"]);
            var minLength = Contains(schema, "minLength") ? GetInt(Get(schema, "minLength"), "minLength") : 0;
            var maxLength = Contains(schema, "maxLength") ? GetInt(Get(schema, "maxLength"), "maxLength") : int.MaxValue;
            return AddRule(ruleName, "\"\\\"\" " + Repetition(charRule, minLength, maxLength) + " \"\\\"\" space");
        }
        if (IsString(schemaType, "integer")
            && (Contains(schema, "minimum") || Contains(schema, "exclusiveMinimum") || Contains(schema, "maximum") || Contains(schema, "exclusiveMaximum")))
        {
            var minValue = IntegerRangeGrammar.NoMinimum;
            var maxValue = IntegerRangeGrammar.NoMaximum;
            if (Contains(schema, "minimum"))
            {
                minValue = GetInt(Get(schema, "minimum"), "minimum");
            }
            else if (Contains(schema, "exclusiveMinimum"))
            {
                minValue = GetInt(Get(schema, "exclusiveMinimum"), "exclusiveMinimum") + 1;
            }
            if (Contains(schema, "maximum"))
            {
                maxValue = GetInt(Get(schema, "maximum"), "maximum");
            }
            else if (Contains(schema, "exclusiveMaximum"))
            {
                maxValue = GetInt(Get(schema, "exclusiveMaximum"), "exclusiveMaximum") - 1;
            }
            var output = new StringBuilder("(");
            IntegerRangeGrammar.Build(minValue, maxValue, output);
            output.Append(") space");
            return AddRule(ruleName, output.ToString());
        }
        if (IsEmpty(schema) || IsString(schemaType, "object"))
        {
            return AddRule(ruleName, AddPrimitive("object", JsonSchemaBuiltinRules.Primitives["object"]));
        }
        if (schemaType is not JsonValue typeValue || typeValue.GetValueKind() != JsonValueKind.String
            || !JsonSchemaBuiltinRules.Primitives.TryGetValue(typeValue.GetValue<string>(), out var primitive))
        {
            errors.Add("Unrecognized schema: " + NlohmannJson.Dump(schema));
            return "";
        }
        var typeName = typeValue.GetValue<string>();
        return AddPrimitive(ruleName == "root" ? "root" : typeName, primitive);
    }

    static bool IsTrue(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    static string Join(string name, string suffix) => name + (name.Length == 0 ? "" : "-") + suffix;

    string UnionRule(string name, List<JsonNode?> alternatives)
    {
        var names = new List<string>();
        for (var i = 0; i < alternatives.Count; i++)
        {
            names.Add(Visit(alternatives[i], name + (name.Length == 0 ? "alternative-" : "-") + Number(i)));
        }
        return string.Join(" | ", names);
    }

    static string ConstantRule(JsonNode? value) => FormatLiteral(NlohmannJson.Dump(value));

    /// <summary>A GBNF string literal: CR, LF and double quotes escaped (<c>format_literal</c>).</summary>
    public static string FormatLiteral(string literal)
    {
        var output = new StringBuilder("\"");
        foreach (var c in literal)
        {
            output.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '"' => "\\\"",
                _ => c.ToString(),
            });
        }
        return output.Append('"').ToString();
    }

    /// <summary>
    /// An item rule repeated <paramref name="minItems"/> to <paramref name="maxItems"/> times, with a
    /// separator between items (<c>build_repetition</c>).
    /// </summary>
    public static string Repetition(string itemRule, int minItems, int maxItems, string separatorRule = "")
    {
        var hasMax = maxItems != int.MaxValue;
        if (minItems == 0 && maxItems == 1)
        {
            return itemRule + "?";
        }
        if (separatorRule.Length == 0)
        {
            if (minItems == 1 && !hasMax)
            {
                return itemRule + "+";
            }
            if (minItems == 0 && !hasMax)
            {
                return itemRule + "*";
            }
            return itemRule + "{" + Number(minItems) + "," + (hasMax ? Number(maxItems) : "") + "}";
        }
        var result = itemRule + " " + Repetition("(" + separatorRule + " " + itemRule + ")", minItems == 0 ? 0 : minItems - 1, hasMax ? maxItems - 1 : maxItems);
        return minItems == 0 ? "(" + result + ")?" : result;
    }

    string ResolveRef(string reference)
    {
        var refName = reference[(reference.LastIndexOf('/') + 1)..];
        if (!rules.ContainsKey(refName) && !refsBeingResolved.Contains(reference))
        {
            refsBeingResolved.Add(reference);
            refs.TryAdd(reference, null);
            refName = Visit(refs[reference], refName);
            refsBeingResolved.Remove(reference);
        }
        return refName;
    }

    string ObjectRule(List<KeyValuePair<string, JsonNode?>> properties, HashSet<string> required, string name, JsonNode? additionalProperties)
    {
        var requiredProperties = new List<string>();
        var optionalProperties = new List<string>();
        var kvRuleNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var propertyNames = new List<string>();
        foreach (var (propertyName, propertySchema) in properties)
        {
            var propertyRule = Visit(propertySchema, Join(name, propertyName));
            kvRuleNames[propertyName] = AddRule(
                Join(name, propertyName + "-kv"),
                FormatLiteral(NlohmannJson.DumpString(propertyName)) + " space \":\" space " + propertyRule);
            (required.Contains(propertyName) ? requiredProperties : optionalProperties).Add(propertyName);
            propertyNames.Add(propertyName);
        }
        if (IsTrue(additionalProperties) || additionalProperties is JsonObject)
        {
            var subName = Join(name, "additional");
            var valueRule = additionalProperties is JsonObject
                ? Visit(additionalProperties, subName + "-value")
                : AddPrimitive("value", JsonSchemaBuiltinRules.Primitives["value"]);
            var keyRule = propertyNames.Count == 0
                ? AddPrimitive("string", JsonSchemaBuiltinRules.Primitives["string"])
                : AddRule(subName + "-k", NotStrings(propertyNames));
            kvRuleNames["*"] = AddRule(subName + "-kv", keyRule + " \":\" space " + valueRule);
            optionalProperties.Add("*");
        }

        var rule = new StringBuilder("\"{\" space ");
        for (var i = 0; i < requiredProperties.Count; i++)
        {
            if (i > 0)
            {
                rule.Append(" \",\" space ");
            }
            rule.Append(kvRuleNames[requiredProperties[i]]);
        }
        if (optionalProperties.Count > 0)
        {
            rule.Append(" (");
            if (requiredProperties.Count > 0)
            {
                rule.Append(" \",\" space ( ");
            }
            string RecursiveRefs(List<string> keys, bool firstIsOptional)
            {
                if (keys.Count == 0)
                {
                    return "";
                }
                var key = keys[0];
                var kvRuleName = kvRuleNames[key];
                var commaRef = "( \",\" space " + kvRuleName + " )";
                var result = firstIsOptional
                    ? commaRef + (key == "*" ? "*" : "?")
                    : kvRuleName + (key == "*" ? " " + commaRef + "*" : "");
                if (keys.Count > 1)
                {
                    result += " " + AddRule(Join(name, key + "-rest"), RecursiveRefs(keys[1..], true));
                }
                return result;
            }
            for (var i = 0; i < optionalProperties.Count; i++)
            {
                if (i > 0)
                {
                    rule.Append(" | ");
                }
                rule.Append(RecursiveRefs(optionalProperties[i..], false));
            }
            if (requiredProperties.Count > 0)
            {
                rule.Append(" )");
            }
            rule.Append(" )?");
        }
        rule.Append(" \"}\" space");
        return rule.ToString();
    }

    string AddPrimitive(string name, BuiltinRule rule)
    {
        var added = AddRule(name, rule.Content);
        foreach (var dependency in rule.Dependencies)
        {
            if (!JsonSchemaBuiltinRules.Primitives.TryGetValue(dependency, out var dependencyRule)
                && !JsonSchemaBuiltinRules.StringFormats.TryGetValue(dependency, out dependencyRule))
            {
                errors.Add("Rule " + dependency + " not known");
                continue;
            }
            if (!rules.ContainsKey(dependency))
            {
                AddPrimitive(dependency, dependencyRule);
            }
        }
        return added;
    }

    // A JSON string that is none of `strings` (_not_strings), e.g. for {"a"}:
    // ["] ( [a] char+ | [^"a] char* )? ["] space
    string NotStrings(List<string> strings)
    {
        var trie = new TrieNode();
        foreach (var s in strings)
        {
            trie.Insert(s);
        }
        var charRule = AddPrimitive("char", JsonSchemaBuiltinRules.Primitives["char"]);
        var output = new StringBuilder("[\"] ( ");
        void VisitNode(TrieNode node)
        {
            var rejects = new StringBuilder();
            var first = true;
            foreach (var (c, child) in node.Children)
            {
                rejects.Append(c);
                if (first)
                {
                    first = false;
                }
                else
                {
                    output.Append(" | ");
                }
                output.Append('[').Append(c).Append(']');
                if (child.Children.Count > 0)
                {
                    output.Append(" (");
                    VisitNode(child);
                    output.Append(')');
                }
                else if (child.IsEndOfString)
                {
                    output.Append(' ').Append(charRule).Append('+');
                }
            }
            if (node.Children.Count > 0)
            {
                if (!first)
                {
                    output.Append(" | ");
                }
                output.Append("[^\"").Append(rejects).Append("] ").Append(charRule).Append('*');
            }
        }
        VisitNode(trie);
        output.Append(" )");
        if (!trie.IsEndOfString)
        {
            output.Append('?');
        }
        output.Append(" [\"] space");
        return output.ToString();
    }

    sealed class TrieNode
    {
        public SortedDictionary<char, TrieNode> Children { get; } = [];

        public bool IsEndOfString { get; private set; }

        public void Insert(string text)
        {
            var node = this;
            foreach (var c in text)
            {
                if (!node.Children.TryGetValue(c, out var child))
                {
                    child = new TrieNode();
                    node.Children[c] = child;
                }
                node = child;
            }
            node.IsEndOfString = true;
        }
    }
}
