using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// The token list as it goes into the GGUF: text, score (SentencePiece-style vocabularies only) and type,
/// indexed by token id.
/// </summary>
internal sealed class Vocabulary(string[] tokens, float[]? scores, int[] types)
{
    public string[] Tokens { get; } = tokens;
    public float[]? Scores { get; } = scores;
    public int[] Types { get; } = types;

    /// <summary>tokens, then scores (when present), then token_type, as gguf-py's writer calls go.</summary>
    public void AddTo(GgufMetadata keys)
    {
        keys.Add(TokenizerKeys.Tokens, GgufValue.Array(GgufArray.Of(Tokens)));
        if (Scores is not null)
        {
            keys.Add(TokenizerKeys.Scores, GgufValue.Array(GgufArray.Of(Scores)));
        }
        keys.Add(TokenizerKeys.TokenType, GgufValue.Array(GgufArray.Of(Types)));
    }

    /// <summary>
    /// convert_hf_to_gguf's <c>does_token_look_special</c>: added tokens some models forget to mark special
    /// (<c>&lt;|...|&gt;</c>, Gemma's <c>&lt;unusedN&gt;</c>, DeepSeek's full-width bars) become CONTROL anyway.
    /// </summary>
    public static bool LooksSpecial(string token) =>
        token is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (token.StartsWith("<|", StringComparison.Ordinal) && token.EndsWith("|>", StringComparison.Ordinal))
        || (token.StartsWith("<\uFF5C", StringComparison.Ordinal) && token.EndsWith("\uFF5C>", StringComparison.Ordinal))
        || (token.StartsWith("<unused", StringComparison.Ordinal) && token.EndsWith('>'));

    /// <summary>User-defined tokens are stored pre-normalized: SentencePiece's '▁' back to a space.</summary>
    public static string PreNormalizeUserDefined(string token) => token.Replace('\u2581', ' ');
}
