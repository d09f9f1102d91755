namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// The grammar of a JSON object — llama.cpp's grammars/json.gbnf (February 2025), word for word: what
/// <c>--format json</c> and Ollama's <c>"format": "json"</c> constrain the output to. The top level is an
/// object; whitespace after a token is at most a newline and 20 spaces or tabs, and numbers have at most
/// 16 digits before the fraction, so a model cannot run on forever inside one value.
/// </summary>
public static class JsonGrammar
{
    /// <summary>The GBNF text (root rule <c>root</c>).</summary>
    public const string Gbnf = """
        root   ::= object
        value  ::= object | array | string | number | ("true" | "false" | "null") ws
        
        object ::=
          "{" ws (
                    string ":" ws value
            ("," ws string ":" ws value)*
          )? "}" ws
        
        array  ::=
          "[" ws (
                    value
            ("," ws value)*
          )? "]" ws
        
        string ::=
          "\"" (
            [^"\\\x7F\x00-\x1F] |
            "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
          )* "\"" ws
        
        number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
        
        # Optional space: by convention, applied in this grammar after literal chars when allowed
        ws ::= | " " | "\n" [ \t]{0,20}
        """;
}
