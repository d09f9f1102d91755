using System.Text.Json;
using System.Text.RegularExpressions;
using Quanta.Formats.Tokenizer;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// gguf-py's <c>LlamaHfVocab</c>: a SentencePiece-style ("llama") vocabulary taken from a <c>tokenizer.json</c>
/// BPE model with byte fallback, for checkpoints that ship no <c>tokenizer.model</c>. Tokens keep their ids;
/// <c>&lt;0xNN&gt;</c> pieces are BYTE, the tokenizer's special tokens CONTROL, added tokens beyond the base
/// vocabulary USER_DEFINED unless special; added tokens flagged special are CONTROL; every score is -1000, as in gguf-py (which has no scores to copy).
/// </summary>
internal static partial class LlamaHfVocabulary
{
    const float Score = -1000f;

    /// <summary>
    /// The tokenizer.json shapes LlamaHfVocab accepts: BPE with byte fallback and a Sequence decoder.
    /// Llama 3's (ignore_merges, no byte fallback) is refused there too, so it goes to the GPT-2 path.
    /// </summary>
    public static bool Accepts(HfTokenizerJson tokenizer) =>
        tokenizer.ModelType == "BPE" && tokenizer.ByteFallback && tokenizer.DecoderType == "Sequence";

    public static Vocabulary Create(string directory, HfTokenizerJson tokenizer)
    {
        var byId = new Dictionary<int, string>();
        var byText = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (text, id) in tokenizer.Vocab)
        {
            byId[id] = text;
            byText[text] = id;
        }
        // transformers' vocab_size for a fast tokenizer: the model vocabulary without added tokens.
        var baseSize = tokenizer.Vocab.Count;
        foreach (var token in tokenizer.AddedTokens)
        {
            byId[token.Id] = token.Content;
            byText[token.Content] = token.Id;
        }
        var specialIds = SpecialIds(directory, byText);
        // Added tokens flagged special count too: recent transformers report them among the special ids,
        // and they are what the SentencePiece route (tokenizer_config's added_tokens_decoder) makes CONTROL.
        specialIds.UnionWith(tokenizer.AddedTokens.Where(t => t.Special).Select(t => t.Id));

        var beyond = tokenizer.AddedTokens.Where(t => t.Id >= baseSize).OrderBy(t => t.Id).ToList();
        var size = baseSize + beyond.Count;
        var tokens = new string[size];
        var scores = new float[size];
        var types = new int[size];
        for (var id = 0; id < baseSize; id++)
        {
            if (!byId.TryGetValue(id, out var text))
            {
                throw new TokenizerFormatException($"tokenizer.json has no token with id {id}");
            }
            tokens[id] = text;
            scores[id] = Score;
            types[id] = (int)(BytePiece().IsMatch(text) ? GgufTokenType.Byte
                : specialIds.Contains(id) ? GgufTokenType.Control
                : GgufTokenType.Normal);
        }
        for (var i = 0; i < beyond.Count; i++)
        {
            var token = beyond[i];
            if (token.Id != baseSize + i)
            {
                throw new TokenizerFormatException(
                    $"added tokens must follow the vocabulary without gaps: expected id {baseSize + i}, got {token.Id}");
            }
            tokens[token.Id] = token.Content;
            scores[token.Id] = Score;
            types[token.Id] = (int)(specialIds.Contains(token.Id) ? GgufTokenType.Control : GgufTokenType.UserDefined);
        }
        return new Vocabulary(tokens, scores, types);
    }

    /// <summary>
    /// transformers' <c>all_special_ids</c>: the tokens tokenizer_config.json names as bos/eos/unk/sep/pad/cls/mask
    /// and in <c>additional_special_tokens</c>.
    /// </summary>
    static HashSet<int> SpecialIds(string directory, Dictionary<string, int> byText)
    {
        var ids = new HashSet<int>();
        using var document = JsonFields.LoadObjectIfExists(Path.Combine(directory, "tokenizer_config.json"));
        if (document is null)
        {
            return ids;
        }
        var config = document.RootElement;
        foreach (var type in SpecialVocab.DefaultTypes)
        {
            if (config.TryGetProperty($"{type}_token", out var entry))
            {
                Add(entry);
            }
        }
        if (config.TryGetProperty("additional_special_tokens", out var additional) && additional.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in additional.EnumerateArray())
            {
                Add(entry);
            }
        }
        return ids;

        void Add(JsonElement entry)
        {
            var content = entry.ValueKind == JsonValueKind.String ? entry.GetString() : JsonFields.OptionalString(entry, "content");
            if (content is not null && byText.TryGetValue(content, out var id))
            {
                ids.Add(id);
            }
        }
    }

    [GeneratedRegex("^<0x[0-9A-Fa-f]{2}>$")]
    private static partial Regex BytePiece();
}
