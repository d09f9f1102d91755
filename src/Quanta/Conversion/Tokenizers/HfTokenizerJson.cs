using System.Text;
using System.Text.Json;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> (the "fast" tokenizer): the model (BPE, Unigram, WordPiece) with its
/// vocabulary and merges, the added tokens, and the normalizer / pre-tokenizer / decoder / post-processor
/// configuration that decides which llama.cpp tokenizer (<c>tokenizer.ggml.model</c>, <c>pre</c>) applies.
/// </summary>
public sealed class HfTokenizerJson
{
    HfTokenizerJson(string modelType)
    {
        ModelType = modelType;
    }

    /// <summary><c>model.type</c>: "BPE", "Unigram", "WordPiece" or "WordLevel".</summary>
    public string ModelType { get; }

    /// <summary>Token text and id, in file order. For Unigram the id is the position in <c>model.vocab</c>.</summary>
    public IReadOnlyList<KeyValuePair<string, int>> Vocab { get; private set; } = [];

    /// <summary>Unigram scores by id; empty for other models.</summary>
    public IReadOnlyList<float> UnigramScores { get; private set; } = [];

    /// <summary>
    /// BPE merges as "left right" strings. The array form (transformers ≥ 4.45, which allows spaces inside a
    /// part) is joined the way gguf-py does: a space inside a part becomes U+0120 so the pair stays splittable.
    /// </summary>
    public IReadOnlyList<string> Merges { get; private set; } = [];

    public bool ByteFallback { get; private set; }
    public bool IgnoreMerges { get; private set; }
    public string? UnknownToken { get; private set; }

    public IReadOnlyList<HfAddedToken> AddedTokens { get; private set; } = [];

    /// <summary>The configuration sections, cloned so they outlive the document (null when absent or JSON null).</summary>
    public JsonElement? Normalizer { get; private set; }
    public JsonElement? PreTokenizer { get; private set; }
    public JsonElement? PostProcessor { get; private set; }
    public JsonElement? Decoder { get; private set; }

    /// <summary><c>decoder.type</c>, e.g. "ByteLevel" for GPT-2-style BPE, "Sequence" for Llama 2's.</summary>
    public string? DecoderType => Decoder is { } d ? JsonFields.OptionalString(d, "type") : null;

    /// <summary>True for GPT-2-style byte-level BPE, the test gguf-py's <c>BpeVocab</c> applies.</summary>
    public bool IsByteLevelBpe => ModelType == "BPE" && !ByteFallback && DecoderType == "ByteLevel";

    public static HfTokenizerJson Read(string path)
    {
        using var document = JsonFields.Load(path);
        try
        {
            return Parse(document.RootElement);
        }
        catch (TokenizerFormatException e) when (e.File is null)
        {
            throw new TokenizerFormatException(path, -1, e.Message, e);
        }
    }

    public static HfTokenizerJson Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerFormatException("tokenizer.json is not a JSON object");
        }
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerFormatException("tokenizer.json has no \"model\" object");
        }
        var type = JsonFields.OptionalString(model, "type") ?? InferModelType(model);
        var result = new HfTokenizerJson(type)
        {
            ByteFallback = JsonFields.OptionalBool(model, "byte_fallback") ?? false,
            IgnoreMerges = JsonFields.OptionalBool(model, "ignore_merges") ?? false,
            UnknownToken = JsonFields.OptionalString(model, "unk_token"),
            Normalizer = Section(root, "normalizer"),
            PreTokenizer = Section(root, "pre_tokenizer"),
            PostProcessor = Section(root, "post_processor"),
            Decoder = Section(root, "decoder"),
            AddedTokens = ReadAddedTokens(root),
        };
        switch (type)
        {
            case "BPE":
                result.Vocab = ReadVocabObject(model);
                result.Merges = ReadMerges(model);
                break;
            case "WordPiece":
            case "WordLevel":
                result.Vocab = ReadVocabObject(model);
                break;
            case "Unigram":
                (result.Vocab, result.UnigramScores) = ReadUnigramVocab(model);
                break;
            default:
                throw new TokenizerFormatException($"unsupported tokenizer model type \"{type}\"");
        }
        return result;
    }

    // Old tokenizer.json files may omit model.type; the vocabulary shape tells them apart.
    static string InferModelType(JsonElement model) =>
        model.TryGetProperty("merges", out _) ? "BPE"
        : model.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Array ? "Unigram"
        : throw new TokenizerFormatException("tokenizer.json model has no \"type\"");

    static JsonElement? Section(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.Clone() : null;

    static List<KeyValuePair<string, int>> ReadVocabObject(JsonElement model)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerFormatException("model.vocab is not an object of token → id");
        }
        var list = new List<KeyValuePair<string, int>>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
            {
                throw new TokenizerFormatException($"model.vocab[\"{entry.Name}\"] is not a token id");
            }
            list.Add(new(entry.Name, id));
        }
        return list;
    }

    static (List<KeyValuePair<string, int>>, List<float>) ReadUnigramVocab(JsonElement model)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Array)
        {
            throw new TokenizerFormatException("Unigram model.vocab is not an array of [piece, score]");
        }
        var pieces = new List<KeyValuePair<string, int>>();
        var scores = new List<float>();
        foreach (var entry in vocab.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2
                || entry[0].ValueKind != JsonValueKind.String || entry[1].ValueKind != JsonValueKind.Number)
            {
                throw new TokenizerFormatException($"Unigram vocab entry {pieces.Count} is not [piece, score]");
            }
            pieces.Add(new(entry[0].GetString()!, pieces.Count));
            scores.Add((float)entry[1].GetDouble());
        }
        return (pieces, scores);
    }

    static List<string> ReadMerges(JsonElement model)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return merges;
        }
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new TokenizerFormatException("model.merges is not an array");
        }
        var builder = new StringBuilder();
        foreach (var merge in array.EnumerateArray())
        {
            switch (merge.ValueKind)
            {
                case JsonValueKind.String:
                    merges.Add(merge.GetString()!);
                    break;
                case JsonValueKind.Array when merge.GetArrayLength() == 2
                    && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String:
                    builder.Clear();
                    AppendPart(builder, merge[0].GetString()!);
                    builder.Append(' ');
                    AppendPart(builder, merge[1].GetString()!);
                    merges.Add(builder.ToString());
                    break;
                default:
                    throw new TokenizerFormatException($"model.merges[{merges.Count}] is neither \"a b\" nor [\"a\", \"b\"]");
            }
        }
        return merges;

        // gguf-py stores merges space-separated, so a literal space inside a part is shifted by 256 (to U+0120,
        // the byte-level alphabet's own space) exactly as convert_hf_to_gguf does.
        static void AppendPart(StringBuilder builder, string part)
        {
            foreach (var c in part)
            {
                builder.Append(c == ' ' ? '\u0120' : c);
            }
        }
    }

    static List<HfAddedToken> ReadAddedTokens(JsonElement root)
    {
        var tokens = new List<HfAddedToken>();
        if (!root.TryGetProperty("added_tokens", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return tokens;
        }
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new TokenizerFormatException("added_tokens is not an array");
        }
        foreach (var entry in array.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number
                || !id.TryGetInt32(out var value) || value < 0
                || JsonFields.OptionalString(entry, "content") is not { } content)
            {
                throw new TokenizerFormatException($"added_tokens[{tokens.Count}] has no valid id and content");
            }
            tokens.Add(new HfAddedToken(value, content,
                JsonFields.OptionalBool(entry, "special") ?? false, JsonFields.OptionalBool(entry, "normalized")));
        }
        return tokens;
    }
}
