using System.Globalization;
using Quanta.Formats.Tokenizer;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// The GPT-2-style ("gpt2") vocabulary of convert_hf_to_gguf's <c>get_vocab_base</c>: every id below the
/// model's vocab_size, base vocabulary and added tokens together, gaps filled with <c>[PADi]</c> (UNUSED).
/// Added tokens are CONTROL when special or when they look special, otherwise USER_DEFINED with '▁'
/// turned back into a space. No scores: llama.cpp's BPE tokenizer ranks by the merges.
/// </summary>
internal static class ByteLevelBpeVocabulary
{
    public static Vocabulary Create(HfTokenizerJson tokenizer, int? vocabSize)
    {
        // transformers' get_vocab(): the model vocabulary with the added tokens laid over it.
        var byId = new Dictionary<int, string>();
        var added = new Dictionary<string, HfAddedToken>(StringComparer.Ordinal);
        var maxId = -1;
        foreach (var (text, id) in tokenizer.Vocab)
        {
            byId[id] = text;
            maxId = Math.Max(maxId, id);
        }
        foreach (var token in tokenizer.AddedTokens)
        {
            byId[token.Id] = token.Content;
            added[token.Content] = token;
            maxId = Math.Max(maxId, token.Id);
        }

        // hparams.get("vocab_size", len(vocab)): config.json's value, which may exceed the tokenizer's.
        var size = vocabSize ?? byId.Count;
        if (maxId >= size)
        {
            throw new TokenizerFormatException($"token id {maxId} is outside the model's vocab_size {size}");
        }

        var tokens = new string[size];
        var types = new int[size];
        for (var i = 0; i < size; i++)
        {
            if (!byId.TryGetValue(i, out var token))
            {
                tokens[i] = string.Create(CultureInfo.InvariantCulture, $"[PAD{i}]");
                types[i] = (int)GgufTokenType.Unused;
                continue;
            }
            if (added.TryGetValue(token, out var addedToken))
            {
                // The converter round-trips non-normalized added tokens through the tokenizer
                // (decode(encode(t))); for byte-level BPE that is the identity on every special token we know,
                // so the text is kept as is rather than re-implementing the tokenizer here.
                if (addedToken.Special || Vocabulary.LooksSpecial(token))
                {
                    types[i] = (int)GgufTokenType.Control;
                }
                else
                {
                    token = Vocabulary.PreNormalizeUserDefined(token);
                    types[i] = (int)GgufTokenType.UserDefined;
                }
            }
            else
            {
                types[i] = (int)GgufTokenType.Normal;
            }
            tokens[i] = token;
        }
        return new Vocabulary(tokens, null, types);
    }
}
