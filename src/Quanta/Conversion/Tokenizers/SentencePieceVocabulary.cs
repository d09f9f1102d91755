using System.Globalization;
using System.Text.Json;
using Quanta.Formats.Tokenizer;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// Builds the SentencePiece ("llama") vocabulary from <c>tokenizer.model</c> the way convert_hf_to_gguf does:
/// <see cref="Create"/> is <c>_create_vocab_sentencepiece</c> (Llama 2, Mistral, Gemma, Qwen2 with a
/// tokenizer.model), <see cref="CreatePhi3"/> is <c>Phi3MiniModel.set_vocab</c>'s variant of it.
/// </summary>
internal static class SentencePieceVocabulary
{
    // Unfilled slots up to the model's vocab_size: convert_hf_to_gguf's placeholder score for them.
    const float PadScore = -10000f;
    // Score given to every token overridden by added_tokens.json / added_tokens_decoder.
    const float AddedScore = -1000f;

    public static Vocabulary Create(string directory, SentencePieceModel model, int? vocabSize)
    {
        // `hparams vocab_size or tokenizer.vocab_size()`: an absent or zero vocab_size means the model's own.
        var size = vocabSize is > 0 ? vocabSize.Value : model.Pieces.Count;
        var (tokens, scores, types) = Placeholders(size);

        // Pieces beyond the model's vocab_size are dropped (the converter warns and stops there).
        for (var id = 0; id < Math.Min(model.Pieces.Count, size); id++)
        {
            var piece = model.Pieces[id];
            tokens[id] = piece.Piece;
            scores[id] = piece.Score;
            types[id] = (int)FoldType(piece.Type);
        }

        foreach (var (content, id) in ReadAddedTokensJson(directory))
        {
            if (id < size)
            {
                tokens[id] = content;
                scores[id] = AddedScore;
                types[id] = (int)GgufTokenType.UserDefined;
            }
        }

        foreach (var token in ReadAddedTokensDecoder(directory))
        {
            if (token.Id >= size)
            {
                continue;
            }
            var content = token.Content;
            if (token.Special || Vocabulary.LooksSpecial(content))
            {
                types[token.Id] = (int)GgufTokenType.Control;
            }
            else
            {
                content = Vocabulary.PreNormalizeUserDefined(content);
                types[token.Id] = (int)GgufTokenType.UserDefined;
            }
            scores[token.Id] = AddedScore;
            tokens[token.Id] = content;
        }
        return new Vocabulary(tokens, scores, types);
    }

    /// <summary>
    /// Phi-3's own copy of the routine: vocab_size defaults only when absent, added tokens from
    /// tokenizer_config.json and then tokenizer.json are CONTROL when marked special and USER_DEFINED
    /// otherwise, with no "looks special" guess and no '▁' normalization; ids outside the vocabulary are an error
    /// (an IndexError in the converter).
    /// </summary>
    public static Vocabulary CreatePhi3(string directory, SentencePieceModel model, int? vocabSize, HfTokenizerJson? tokenizerJson)
    {
        var size = vocabSize ?? model.Pieces.Count;
        if (model.Pieces.Count > size)
        {
            throw new TokenizerFormatException(
                $"tokenizer.model has {model.Pieces.Count} pieces but the model's vocab_size is {size}");
        }
        var (tokens, scores, types) = Placeholders(size);
        for (var id = 0; id < model.Pieces.Count; id++)
        {
            var piece = model.Pieces[id];
            tokens[id] = piece.Piece;
            scores[id] = piece.Score;
            types[id] = (int)FoldType(piece.Type);
        }

        foreach (var (content, id) in ReadAddedTokensJson(directory))
        {
            if (id < size)
            {
                tokens[id] = content;
                scores[id] = AddedScore;
                types[id] = (int)GgufTokenType.UserDefined;
            }
        }

        IEnumerable<HfAddedToken> added = ReadAddedTokensDecoder(directory);
        if (tokenizerJson is not null)
        {
            added = added.Concat(tokenizerJson.AddedTokens);
        }
        foreach (var token in added)
        {
            if (token.Id >= size)
            {
                throw new TokenizerFormatException($"added token {token.Id} ('{token.Content}') is outside the vocabulary of {size}");
            }
            tokens[token.Id] = token.Content;
            scores[token.Id] = AddedScore;
            types[token.Id] = (int)(token.Special ? GgufTokenType.Control : GgufTokenType.UserDefined);
        }
        return new Vocabulary(tokens, scores, types);
    }

    static (string[] Tokens, float[] Scores, int[] Types) Placeholders(int size)
    {
        var tokens = new string[size];
        var scores = new float[size];
        var types = new int[size];
        for (var i = 0; i < size; i++)
        {
            tokens[i] = string.Create(CultureInfo.InvariantCulture, $"[PAD{i}]");
            scores[i] = PadScore;
            types[i] = (int)GgufTokenType.Unused;
        }
        return (tokens, scores, types);
    }

    /// <summary>
    /// The converter asks SentencePiece IsUnknown / IsControl / IsUnused / IsByte, in that order, and calls
    /// everything else NORMAL: a USER_DEFINED piece of the model itself is therefore stored as NORMAL.
    /// </summary>
    static GgufTokenType FoldType(GgufTokenType type) => type switch
    {
        GgufTokenType.Unknown or GgufTokenType.Control or GgufTokenType.Unused or GgufTokenType.Byte => type,
        _ => GgufTokenType.Normal,
    };

    /// <summary><c>added_tokens.json</c>: an object of token text → id, in file order.</summary>
    static List<(string Content, int Id)> ReadAddedTokensJson(string directory)
    {
        var path = Path.Combine(directory, "added_tokens.json");
        var result = new List<(string, int)>();
        using var document = JsonFields.LoadObjectIfExists(path);
        if (document is null)
        {
            return result;
        }
        foreach (var entry in document.RootElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
            {
                throw new TokenizerFormatException(path, -1, $"\"{entry.Name}\" has no valid token id");
            }
            result.Add((entry.Name, id));
        }
        return result;
    }

    /// <summary><c>tokenizer_config.json</c>'s <c>added_tokens_decoder</c>: "id" → {content, special, ...}.</summary>
    internal static List<HfAddedToken> ReadAddedTokensDecoder(string directory)
    {
        var path = Path.Combine(directory, "tokenizer_config.json");
        var result = new List<HfAddedToken>();
        using var document = JsonFields.LoadObjectIfExists(path);
        if (document is null
            || !document.RootElement.TryGetProperty("added_tokens_decoder", out var decoder)
            || decoder.ValueKind != JsonValueKind.Object)
        {
            return result;
        }
        foreach (var entry in decoder.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                || JsonFields.OptionalString(entry.Value, "content") is not { } content)
            {
                throw new TokenizerFormatException(path, -1, $"added_tokens_decoder entry \"{entry.Name}\" has no valid id and content");
            }
            result.Add(new HfAddedToken(id, content,
                JsonFields.OptionalBool(entry.Value, "special") ?? false, JsonFields.OptionalBool(entry.Value, "normalized")));
        }
        return result;
    }
}
