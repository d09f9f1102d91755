using System.Text.Json;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// Produces the <c>tokenizer.*</c> GGUF keys for a Hugging Face checkpoint directory, with the values, value
/// types and order that llama.cpp's convert_hf_to_gguf.py (February 2025) writes for the architecture's
/// family. Reads <c>tokenizer.model</c> (SentencePiece protobuf), <c>tokenizer.json</c>,
/// <c>tokenizer_config.json</c>, <c>config.json</c>, <c>added_tokens.json</c>, <c>merges.txt</c> and the chat
/// template side files, whichever that family's routine reads.
/// </summary>
public static class TokenizerImport
{
    /// <summary>
    /// The tokenizer keys, in converter order, ready to append after the architecture keys.
    /// </summary>
    /// <param name="checkpointDirectory">The Hugging Face checkpoint folder.</param>
    /// <param name="family">Which converter routine applies (see <see cref="TokenizerFamilies"/>).</param>
    /// <param name="vocabSize">config.json's <c>vocab_size</c> (the embedding rows), or null when it has none;
    /// SentencePiece and byte-level vocabularies are padded to it with <c>[PADi]</c>.</param>
    /// <exception cref="TokenizerFormatException">Missing or malformed tokenizer files, or a tokenizer the
    /// converter would refuse.</exception>
    public static IReadOnlyList<KeyValuePair<string, GgufValue>> Read(string checkpointDirectory, TokenizerFamily family, int? vocabSize)
    {
        ArgumentNullException.ThrowIfNull(checkpointDirectory);
        if (!Directory.Exists(checkpointDirectory))
        {
            throw new TokenizerFormatException(checkpointDirectory, -1, "checkpoint directory not found");
        }
        var checkpoint = new Checkpoint(checkpointDirectory);
        var keys = new GgufMetadata();
        switch (family)
        {
            case TokenizerFamily.Llama:
                ReadLlama(checkpoint, vocabSize, keys);
                break;
            case TokenizerFamily.Gemma:
                AddSentencePiece(checkpoint, checkpoint.RequireModel(), vocabSize, keys);
                AddCodeGemmaTokens(checkpoint, keys);
                keys.Add(TokenizerKeys.AddSpacePrefix, GgufValue.Bool(false));
                break;
            case TokenizerFamily.Gemma2:
                AddSentencePiece(checkpoint, checkpoint.RequireModel(), vocabSize, keys);
                keys.Add(TokenizerKeys.AddSpacePrefix, GgufValue.Bool(false));
                break;
            case TokenizerFamily.Gemma3:
                ReadGemma3(checkpoint, vocabSize, keys);
                break;
            case TokenizerFamily.Phi3:
                ReadPhi3(checkpoint, vocabSize, keys);
                break;
            case TokenizerFamily.Qwen2:
                if (checkpoint.Model is { } qwenModel)
                {
                    AddSentencePiece(checkpoint, qwenModel, vocabSize, keys);
                }
                else
                {
                    AddByteLevelBpe(checkpoint, vocabSize, keys);
                }
                break;
            case TokenizerFamily.Gpt2:
                AddByteLevelBpe(checkpoint, vocabSize, keys);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(family), family, "unknown tokenizer family");
        }
        return keys;
    }

    /// <summary>LlamaModel.set_vocab: SentencePiece, else LlamaHfVocab, else GPT-2 BPE; then its extras.</summary>
    static void ReadLlama(Checkpoint checkpoint, int? vocabSize, GgufMetadata keys)
    {
        if (checkpoint.Model is { } model)
        {
            AddSentencePiece(checkpoint, model, vocabSize, keys);
        }
        else if (checkpoint.Json is { } json && LlamaHfVocabulary.Accepts(json))
        {
            AddLlamaHf(checkpoint, json, keys);
        }
        else
        {
            AddByteLevelBpe(checkpoint, vocabSize, keys);
        }

        // CodeLlama (vocab 32016) infill tokens; only "eot" has a GGUF key in this gguf-py, the rest are dropped.
        if ((vocabSize ?? 32000) == 32016)
        {
            var special = new SpecialVocab(checkpoint.Directory, checkpoint.Json, loadMerges: false,
                types: ["prefix", "suffix", "middle", "eot"]);
            special.SetSpecialToken("prefix", 32007);
            special.SetSpecialToken("suffix", 32008);
            special.SetSpecialToken("middle", 32009);
            special.SetSpecialToken("eot", 32010);
            special.AddTo(keys);
        }

        if (checkpoint.Config is { } config && config.TryGetProperty("add_prefix_space", out var prefix)
            && prefix.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            keys.Add(TokenizerKeys.AddSpacePrefix, GgufValue.Bool(prefix.GetBoolean()));
        }
    }

    /// <summary>
    /// Gemma3Model.set_vocab. Without a tokenizer.model the converter takes the byte-level BPE path, which for
    /// Gemma 3's SentencePiece-style tokenizer.json ends in "pre-tokenizer not recognized"; we import such a
    /// tokenizer.json as LlamaHfVocab does instead, keeping the "llama" tokenizer model llama.cpp expects for Gemma.
    /// </summary>
    static void ReadGemma3(Checkpoint checkpoint, int? vocabSize, GgufMetadata keys)
    {
        if (checkpoint.Model is { } model)
        {
            AddSentencePiece(checkpoint, model, vocabSize, keys);
            keys.Add(TokenizerKeys.AddSpacePrefix, GgufValue.Bool(false));
        }
        else if (checkpoint.Json is { } json && LlamaHfVocabulary.Accepts(json))
        {
            AddLlamaHf(checkpoint, json, keys);
            keys.Add(TokenizerKeys.AddSpacePrefix, GgufValue.Bool(false));
        }
        else
        {
            AddByteLevelBpe(checkpoint, vocabSize, keys);
        }
    }

    /// <summary>Phi3MiniModel.set_vocab: Phi-4 (GPT2Tokenizer) is byte-level BPE, Phi-3 its own SentencePiece routine.</summary>
    static void ReadPhi3(Checkpoint checkpoint, int? vocabSize, GgufMetadata keys)
    {
        if (checkpoint.Config is { } config && JsonFields.OptionalString(config, "tokenizer_class") == "GPT2Tokenizer")
        {
            AddByteLevelBpe(checkpoint, vocabSize, keys);
            return;
        }
        var vocabulary = SentencePieceVocabulary.CreatePhi3(checkpoint.Directory, checkpoint.RequireModel(), vocabSize, checkpoint.Json);
        AddSentencePieceKeys(checkpoint, vocabulary, keys);
    }

    /// <summary>_set_vocab_sentencepiece.</summary>
    static void AddSentencePiece(Checkpoint checkpoint, SentencePieceModel model, int? vocabSize, GgufMetadata keys) =>
        AddSentencePieceKeys(checkpoint, SentencePieceVocabulary.Create(checkpoint.Directory, model, vocabSize), keys);

    static void AddSentencePieceKeys(Checkpoint checkpoint, Vocabulary vocabulary, GgufMetadata keys)
    {
        keys.Add(TokenizerKeys.Model, GgufValue.String("llama"));
        keys.Add(TokenizerKeys.Pre, GgufValue.String("default"));
        vocabulary.AddTo(keys);
        new SpecialVocab(checkpoint.Directory, checkpoint.Json, loadMerges: false, vocabularySize: vocabulary.Tokens.Length)
            .AddTo(keys);
    }

    /// <summary>_set_vocab_llama_hf.</summary>
    static void AddLlamaHf(Checkpoint checkpoint, HfTokenizerJson json, GgufMetadata keys) =>
        AddSentencePieceKeys(checkpoint, LlamaHfVocabulary.Create(checkpoint.Directory, json), keys);

    /// <summary>_set_vocab_gpt2.</summary>
    static void AddByteLevelBpe(Checkpoint checkpoint, int? vocabSize, GgufMetadata keys)
    {
        var json = checkpoint.Json ?? throw new TokenizerFormatException(checkpoint.Directory, -1,
            "no tokenizer found: expected tokenizer.json (or tokenizer.model for SentencePiece models)");
        if (json.ModelType != "BPE")
        {
            throw new TokenizerFormatException(checkpoint.Directory, -1,
                $"tokenizer.json holds a {json.ModelType} model, not the byte-level BPE this architecture's converter expects");
        }
        var pre = PreTokenizerMatcher.Identify(json);
        var vocabulary = ByteLevelBpeVocabulary.Create(json, vocabSize);
        keys.Add(TokenizerKeys.Model, GgufValue.String("gpt2"));
        keys.Add(TokenizerKeys.Pre, GgufValue.String(pre));
        vocabulary.AddTo(keys);
        new SpecialVocab(checkpoint.Directory, json, loadMerges: true).AddTo(keys);
    }

    /// <summary>
    /// GemmaModel's second SpecialVocab: CodeGemma's fill-in-the-middle ids, of which only EOT (107) has a GGUF
    /// key in the February 2025 gguf-py; its chat template is cleared so it is not written twice.
    /// </summary>
    static void AddCodeGemmaTokens(Checkpoint checkpoint, GgufMetadata keys)
    {
        var special = new SpecialVocab(checkpoint.Directory, checkpoint.Json, loadMerges: false,
            types: ["prefix", "suffix", "middle", "fsep", "eot"]);
        special.SetSpecialToken("prefix", 67);
        special.SetSpecialToken("suffix", 69);
        special.SetSpecialToken("middle", 68);
        special.SetSpecialToken("fsep", 70);
        special.SetSpecialToken("eot", 107);
        special.ChatTemplate = null;
        special.AddTo(keys);
    }

    /// <summary>The checkpoint's tokenizer files, each parsed at most once.</summary>
    sealed class Checkpoint(string directory)
    {
        readonly Lazy<SentencePieceModel?> _model = new(() =>
        {
            var path = Path.Combine(directory, "tokenizer.model");
            return File.Exists(path) ? SentencePieceModel.Read(path) : null;
        });

        readonly Lazy<HfTokenizerJson?> _json = new(() =>
        {
            var path = Path.Combine(directory, "tokenizer.json");
            return File.Exists(path) ? HfTokenizerJson.Read(path) : null;
        });

        readonly Lazy<JsonElement?> _config = new(() =>
        {
            using var document = JsonFields.LoadObjectIfExists(Path.Combine(directory, "tokenizer_config.json"));
            return document?.RootElement.Clone();
        });

        public string Directory { get; } = directory;
        public SentencePieceModel? Model => _model.Value;
        public HfTokenizerJson? Json => _json.Value;

        /// <summary>tokenizer_config.json, or null when absent.</summary>
        public JsonElement? Config => _config.Value;

        public SentencePieceModel RequireModel() => Model
            ?? throw new TokenizerFormatException(Path.Combine(Directory, "tokenizer.model"), -1,
                "not found (this architecture's converter reads the SentencePiece model)");
    }
}
