namespace Quanta.Inference.Sampling.Grammar;

/// <summary>A predefined rule of the JSON-schema converter and the rules it uses.</summary>
sealed record BuiltinRule(string Content, params string[] Dependencies);

/// <summary>
/// The predefined rules of llama.cpp's JSON-schema converter (<c>PRIMITIVE_RULES</c>,
/// <c>STRING_FORMAT_RULES</c>, <c>SPACE_RULE</c>; common/json-schema-to-grammar.cpp, February 2025).
/// </summary>
static class JsonSchemaBuiltinRules
{
    /// <summary>Optional whitespace after a token: nothing, one space, or a newline and up to 20 spaces or tabs.</summary>
    public const string Space = """| " " | "\n" [ \t]{0,20}""";

    public static IReadOnlyDictionary<string, BuiltinRule> Primitives { get; } = new Dictionary<string, BuiltinRule>(StringComparer.Ordinal)
    {
        ["boolean"] = new("""("true" | "false") space"""),
        ["decimal-part"] = new("[0-9]{1,16}"),
        ["integral-part"] = new("[0] | [1-9] [0-9]{0,15}"),
        ["number"] = new("""("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)? space""", "integral-part", "decimal-part"),
        ["integer"] = new("""("-"? integral-part) space""", "integral-part"),
        ["value"] = new("object | array | string | number | boolean | null", "object", "array", "string", "number", "boolean", "null"),
        ["object"] = new("""
            "{" space ( string ":" space value ("," space string ":" space value)* )? "}" space
            """, "string", "value"),
        ["array"] = new("""
            "[" space ( value ("," space value)* )? "]" space
            """, "value"),
        ["uuid"] = new("""
            "\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\"" space
            """),
        ["char"] = new("""[^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})"""),
        ["string"] = new("""
            "\"" char* "\"" space
            """, "char"),
        ["null"] = new("\"null\" space"),
    };

    public static IReadOnlyDictionary<string, BuiltinRule> StringFormats { get; } = new Dictionary<string, BuiltinRule>(StringComparer.Ordinal)
    {
        ["date"] = new("""[0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] )"""),
        ["time"] = new("""([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? ( "Z" | ( "+" | "-" ) ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )"""),
        ["date-time"] = new("""date "T" time""", "date", "time"),
        ["date-string"] = new("""
            "\"" date "\"" space
            """, "date"),
        ["time-string"] = new("""
            "\"" time "\"" space
            """, "time"),
        ["date-time-string"] = new("""
            "\"" date-time "\"" space
            """, "date-time"),
    };

    /// <summary>Names a schema's rule may not take (<c>is_reserved_name</c>): root and the predefined rules.</summary>
    public static bool IsReserved(string name) => name == "root" || Primitives.ContainsKey(name) || StringFormats.ContainsKey(name);
}
