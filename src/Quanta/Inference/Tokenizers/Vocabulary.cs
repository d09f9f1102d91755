using System.Text;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;

namespace Quanta.Inference.Tokenizers;

/// <summary>
/// A model's vocabulary as llama.cpp loads it from the <c>tokenizer.*</c> keys (llama-vocab.cpp,
/// <c>llama_vocab::impl::load</c>): token texts, scores and attributes, merges, the special token ids and the
/// flags that steer tokenization. Any GGUF with those keys will do, whatever its architecture, tensors or none.
/// </summary>
/// <remarks>
/// Token texts are kept as byte strings (<see cref="ByteText"/>) and looked up by hash without allocating.
/// Loading a 32,000-token vocabulary takes a few milliseconds. Immutable once loaded, so safe to share.
/// </remarks>
public sealed class Vocabulary
{
    /// <summary>No token (llama.cpp's <c>LLAMA_TOKEN_NULL</c>).</summary>
    public const int NoToken = -1;

    readonly string[] _texts;
    readonly float[] _scores;
    readonly TokenAttributes[] _attributes;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _ids;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _mergeRanks;
    readonly HashSet<int> _endOfGeneration;

    Vocabulary(string[] texts, float[] scores, TokenAttributes[] attributes, Dictionary<string, int> ids, Dictionary<string, int> merges)
    {
        _texts = texts;
        _scores = scores;
        _attributes = attributes;
        _ids = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        _mergeRanks = merges.GetAlternateLookup<ReadOnlySpan<char>>();
        MergeCount = merges.Count;
        _endOfGeneration = [];
        MaxTokenLength = texts.Length == 0 ? 0 : texts.Max(t => t.Length);
    }

    public VocabularyType Type { get; private init; }

    /// <summary><c>tokenizer.ggml.model</c> as the file spells it (llama, gpt2, bert, t5).</summary>
    public string Model { get; private init; } = "";

    /// <summary><c>tokenizer.ggml.pre</c> for BPE vocabularies ("default" when absent); empty for the others.</summary>
    public string PreTokenizerName => PreTokenizer?.Name ?? "";

    internal PreTokenizer? PreTokenizer { get; private init; }

    public int Count => _texts.Length;

    public int MergeCount { get; }

    /// <summary>The longest token text, in bytes.</summary>
    public int MaxTokenLength { get; }

    public int Bos { get; private set; } = NoToken;
    public int Eos { get; private set; } = NoToken;
    public int Eot { get; private set; } = NoToken;
    public int Eom { get; private set; } = NoToken;
    public int Unknown { get; private set; } = NoToken;
    public int Separator { get; private set; } = NoToken;
    public int Padding { get; private set; } = NoToken;
    public int Mask { get; private set; } = NoToken;
    public int FimPrefix { get; private set; } = NoToken;
    public int FimSuffix { get; private set; } = NoToken;
    public int FimMiddle { get; private set; } = NoToken;
    public int FimPad { get; private set; } = NoToken;
    public int FimRepository { get; private set; } = NoToken;
    public int FimSeparator { get; private set; } = NoToken;

    /// <summary>BOS starts every tokenization with special tokens.</summary>
    public bool AddBos { get; private set; }

    /// <summary>EOS ends every tokenization with special tokens.</summary>
    public bool AddEos { get; private set; }

    /// <summary>SEP ends every tokenization with special tokens (BERT, RoBERTa).</summary>
    public bool AddSeparator { get; private set; }

    /// <summary>SPM: a space goes before the text (and after each special token).</summary>
    public bool AddSpacePrefix { get; private set; }

    public bool RemoveExtraWhitespaces { get; private set; }

    /// <summary>BPE: a pre-tokenized word that is a token as a whole is not merged.</summary>
    internal bool IgnoreMerges { get; private set; }

    /// <summary>Detokenization removes spaces before punctuation (clean_up_tokenization_spaces).</summary>
    internal bool CleanSpaces { get; private set; }

    /// <summary>Spaces are written as U+2581 inside tokens (SPM, UGM).</summary>
    internal bool EscapeWhitespaces { get; private set; } = true;

    /// <summary>UGM: SentencePiece's precompiled normalization map (<c>tokenizer.ggml.precompiled_charsmap</c>), if any.</summary>
    internal byte[]? PrecompiledCharsmap { get; private set; }

    /// <summary>Tokens that end generation (EOS, EOT, EOM and the texts llama.cpp recognises).</summary>
    public IReadOnlySet<int> EndOfGeneration => _endOfGeneration;

    /// <summary>Control, user-defined and unknown tokens, longest text first: the order special tokens are searched in.</summary>
    internal int[] SpecialTokens { get; private set; } = [];

    public bool IsEndOfGeneration(int token) => token != NoToken && _endOfGeneration.Contains(token);

    /// <summary>The token's text as stored (SentencePiece "▁" and byte-level "Ġ" included), decoded as UTF-8.</summary>
    public string TokenText(int token) => Encoding.UTF8.GetString(ByteText.ToBytes(_texts[CheckToken(token)]));

    public float Score(int token) => _scores[CheckToken(token)];

    public TokenAttributes Attributes(int token) => _attributes[CheckToken(token)];

    /// <summary>The id of a token given by its exact text, or <see cref="NoToken"/>.</summary>
    public int Find(string text) => FindBytes(ByteText.FromUtf8(text));

    internal int FindBytes(ReadOnlySpan<char> byteText) => _ids.TryGetValue(byteText, out var id) ? id : NoToken;

    internal string RawText(int token) => _texts[token];

    internal TokenAttributes RawAttributes(int token) => _attributes[token];

    /// <summary>
    /// The rank of merging <paramref name="left"/> and <paramref name="right"/>, or -1. Merges are keyed as the
    /// file stores them, "left right"; <paramref name="scratch"/> holds the key while it is looked up.
    /// </summary>
    internal int MergeRank(ReadOnlySpan<char> left, ReadOnlySpan<char> right, ref char[] scratch)
    {
        var length = left.Length + 1 + right.Length;
        if (scratch.Length < length)
        {
            scratch = new char[Math.Max(length, scratch.Length * 2)];
        }
        left.CopyTo(scratch);
        scratch[left.Length] = ' ';
        right.CopyTo(scratch.AsSpan(left.Length + 1));
        return _mergeRanks.TryGetValue(scratch.AsSpan(0, length), out var rank) ? rank : -1;
    }

    /// <summary>The token for one byte (<c>llama_vocab::byte_to_token</c>): "&lt;0xXX&gt;" for SPM/UGM, the byte-level character for BPE/WPM.</summary>
    internal int ByteToToken(byte b)
    {
        if (Type is VocabularyType.Spm or VocabularyType.Ugm)
        {
            Span<char> hex = ['<', '0', 'x', HexDigit(b >> 4), HexDigit(b & 15), '>'];
            var id = FindBytes(hex);
            if (id != NoToken)
            {
                return id;
            }
            ReadOnlySpan<char> single = [(char)b];
            id = FindBytes(single);
            return id != NoToken ? id : throw new VocabularyFormatException($"the vocabulary has no token for byte 0x{b:X2}");
        }
        var text = ByteLevelEncoding.Encode(b);
        var found = FindBytes(text);
        return found != NoToken ? found : throw new VocabularyFormatException($"the vocabulary has no token for byte 0x{b:X2}");
    }

    static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'A' + value - 10);

    int CheckToken(int token) =>
        (uint)token < (uint)_texts.Length ? token : throw new ArgumentOutOfRangeException(nameof(token), token, $"token id out of range (vocabulary of {_texts.Length})");

    /// <summary>Loads the vocabulary of a GGUF file (or split set).</summary>
    public static Vocabulary Load(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return FromMetadata(file.Metadata, file.Path);
    }

    /// <summary>Loads a vocabulary from metadata; <paramref name="source"/> names the file in errors.</summary>
    public static Vocabulary FromMetadata(GgufMetadata metadata, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return new VocabularyLoader(metadata, source).Load();
    }

    /// <summary>The steps of llama_vocab::impl::load, in its order.</summary>
    sealed class VocabularyLoader(GgufMetadata metadata, string? source)
    {
        VocabularyFormatException Error(string message) => new(source, message);

        public Vocabulary Load()
        {
            var model = metadata.TryGetValue(TokenizerKeys.Model, out var m) && m.Type == GgufValueType.String
                ? m.AsString()
                : throw Error($"no vocabulary: {TokenizerKeys.Model} is missing");
            var preName = metadata.TryGetValue(TokenizerKeys.Pre, out var p) && p.Type == GgufValueType.String ? p.AsString() : null;

            var defaults = new Defaults();
            VocabularyType type;
            PreTokenizer? pre = null;
            switch (model)
            {
                case "llama":
                    type = VocabularyType.Spm;
                    (defaults.Bos, defaults.Eos, defaults.Unknown) = (1, 2, 0);
                    (defaults.AddSpacePrefix, defaults.CleanSpaces, defaults.AddBos, defaults.AddEos) = (true, false, true, false);
                    break;
                case "bert":
                    type = VocabularyType.Wpm;
                    (defaults.Bos, defaults.Unknown, defaults.Separator, defaults.Padding, defaults.Mask) = (101, 100, 102, 0, 103);
                    (defaults.CleanSpaces, defaults.AddBos, defaults.AddSeparator) = (true, true, true);
                    break;
                case "gpt2":
                    type = VocabularyType.Bpe;
                    (defaults.Bos, defaults.Eos) = (11, 11);
                    pre = PreTokenizer.ForName(preName) ?? throw Error($"unknown pre-tokenizer type: '{preName}'");
                    defaults.EscapeWhitespaces = false;
                    defaults.CleanSpaces = pre.CleanSpaces;
                    defaults.IgnoreMerges = pre.IgnoreMerges;
                    defaults.AddBos = pre.AddBos ?? false;
                    defaults.AddSeparator = pre.AddSeparator;
                    if (pre.NoBos)
                    {
                        defaults.Bos = NoToken;
                    }
                    break;
                case "t5":
                    type = VocabularyType.Ugm;
                    (defaults.Eos, defaults.Unknown, defaults.Padding) = (1, 2, 0);
                    (defaults.AddBos, defaults.AddEos) = (false, true);
                    break;
                case "no_vocab" or "none":
                    throw Error($"the file has no vocabulary ({TokenizerKeys.Model} = {model})");
                default:
                    throw Error($"unknown tokenizer: '{model}' (known: llama, gpt2, bert, t5)");
            }
            defaults.AddSpacePrefix = OptionalBool(TokenizerKeys.AddSpacePrefix) ?? defaults.AddSpacePrefix;
            var removeExtraWhitespaces = OptionalBool(TokenizerKeys.RemoveExtraWhitespaces) ?? false;

            var texts = ReadTokens();
            var scores = ReadScores(texts.Length);
            var attributes = ReadAttributes(texts.Length);
            var ids = new Dictionary<string, int>(texts.Length, StringComparer.Ordinal);
            for (var i = 0; i < texts.Length; i++)
            {
                if (texts[i].Length == 0)
                {
                    texts[i] = "[EMPTY_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";
                }
                if (!ids.TryAdd(texts[i], i))
                {
                    throw Error($"duplicate token in vocabulary: '{Encoding.UTF8.GetString(ByteText.ToBytes(texts[i]))}' has ids {ids[texts[i]]} and {i}");
                }
            }
            var merges = type == VocabularyType.Bpe ? ReadMerges() : new Dictionary<string, int>(StringComparer.Ordinal);
            var charsmap = type == VocabularyType.Ugm ? ReadPrecompiledCharsmap() : null;

            var vocabulary = new Vocabulary(texts, scores, attributes, ids, merges)
            {
                Type = type,
                Model = model,
                PreTokenizer = pre,
            };
            vocabulary.AddSpacePrefix = defaults.AddSpacePrefix;
            vocabulary.RemoveExtraWhitespaces = removeExtraWhitespaces;
            vocabulary.CleanSpaces = defaults.CleanSpaces;
            vocabulary.IgnoreMerges = defaults.IgnoreMerges;
            vocabulary.EscapeWhitespaces = defaults.EscapeWhitespaces;
            vocabulary.PrecompiledCharsmap = charsmap;
            SetSpecialTokens(vocabulary, defaults);
            DetectSpecialTokensByText(vocabulary);
            CollectEndOfGeneration(vocabulary);
            vocabulary.SpecialTokens = SpecialTokenSearchOrder(texts, attributes);
            ApplyPerModelAttributes(vocabulary, attributes);
            return vocabulary;
        }

        string[] ReadTokens()
        {
            if (!metadata.TryGetValue(TokenizerKeys.Tokens, out var value))
            {
                throw Error($"cannot find tokenizer vocab in model file ({TokenizerKeys.Tokens})");
            }
            if (value.Type != GgufValueType.Array || value.AsArray().ElementType != GgufValueType.String)
            {
                throw Error($"invalid gguf type for {TokenizerKeys.Tokens}");
            }
            var tokens = value.AsArray().As<string>();
            var texts = new string[tokens.Length];
            for (var i = 0; i < tokens.Length; i++)
            {
                texts[i] = ByteText.FromUtf8(tokens[i]);
            }
            return texts;
        }

        float[] ReadScores(int count)
        {
            var scores = new float[count];
            if (!metadata.TryGetValue(TokenizerKeys.Scores, out var value))
            {
                return scores;
            }
            var array = value.Type == GgufValueType.Array ? value.AsArray() : null;
            if (array is null || array.ElementType is not (GgufValueType.Float32 or GgufValueType.Int32))
            {
                throw Error($"invalid gguf type for {TokenizerKeys.Scores}");
            }
            if (array.Count < count)
            {
                throw Error($"Index out of array bounds for scores ({array.Count} < {count})");
            }
            if (array.ElementType == GgufValueType.Float32)
            {
                array.As<float>().AsSpan(0, count).CopyTo(scores);
            }
            else
            {
                var ints = array.As<int>();
                for (var i = 0; i < count; i++)
                {
                    scores[i] = ints[i];
                }
            }
            return scores;
        }

        TokenAttributes[] ReadAttributes(int count)
        {
            var attributes = new TokenAttributes[count];
            Array.Fill(attributes, TokenAttributes.Normal);
            if (!metadata.TryGetValue(TokenizerKeys.TokenType, out var value))
            {
                return attributes;
            }
            var array = value.Type == GgufValueType.Array ? value.AsArray() : null;
            if (array is null || array.ElementType != GgufValueType.Int32)
            {
                throw Error($"invalid gguf type for {TokenizerKeys.TokenType}");
            }
            if (array.Count < count)
            {
                throw Error($"Index out of array bounds for toktypes ({array.Count} < {count})");
            }
            var types = array.As<int>();
            for (var i = 0; i < count; i++)
            {
                attributes[i] = (GgufTokenType)types[i] switch
                {
                    GgufTokenType.Unknown => TokenAttributes.Unknown,
                    GgufTokenType.Unused => TokenAttributes.Unused,
                    GgufTokenType.Normal => TokenAttributes.Normal,
                    GgufTokenType.Control => TokenAttributes.Control,
                    GgufTokenType.UserDefined => TokenAttributes.UserDefined,
                    GgufTokenType.Byte => TokenAttributes.Byte,
                    _ => TokenAttributes.Undefined,
                };
            }
            return attributes;
        }

        Dictionary<string, int> ReadMerges()
        {
            if (!metadata.TryGetValue(TokenizerKeys.Merges, out var value))
            {
                throw Error($"cannot find tokenizer merges in model file ({TokenizerKeys.Merges})");
            }
            if (value.Type != GgufValueType.Array || value.AsArray().ElementType != GgufValueType.String)
            {
                throw Error($"invalid gguf type for {TokenizerKeys.Merges}");
            }
            var merges = value.AsArray().As<string>();
            var ranks = new Dictionary<string, int>(merges.Length, StringComparer.Ordinal);
            for (var i = 0; i < merges.Length; i++)
            {
                // llama.cpp splits at the first space after the first byte; a merge without one becomes ("", "").
                var merge = ByteText.FromUtf8(merges[i]);
                var space = merge.Length > 1 ? merge.IndexOf(' ', 1) : -1;
                ranks.TryAdd(space >= 0 ? merge : " ", i);
            }
            return ranks;
        }

        byte[]? ReadPrecompiledCharsmap()
        {
            if (!metadata.TryGetValue(TokenizerKeys.PrecompiledCharsmap, out var value))
            {
                return null;
            }
            var array = value.Type == GgufValueType.Array ? value.AsArray() : null;
            return array?.ElementType switch
            {
                GgufValueType.UInt8 => array.As<byte>(),
                GgufValueType.Int8 => [.. array.As<sbyte>().Select(b => (byte)b)],
                _ => throw Error($"invalid gguf type for {TokenizerKeys.PrecompiledCharsmap}"),
            };
        }

        bool? OptionalBool(string key) =>
            metadata.TryGetValue(key, out var value) && value.Type == GgufValueType.Bool ? value.AsBool() : null;

        long? OptionalInteger(string key)
        {
            if (!metadata.TryGetValue(key, out var value))
            {
                return null;
            }
            return value.Type switch
            {
                GgufValueType.UInt8 => value.AsUInt8(),
                GgufValueType.Int8 => value.AsInt8(),
                GgufValueType.UInt16 => value.AsUInt16(),
                GgufValueType.Int16 => value.AsInt16(),
                GgufValueType.UInt32 => value.AsUInt32(),
                GgufValueType.Int32 => (uint)value.AsInt32(),
                GgufValueType.UInt64 => (long)Math.Min(value.AsUInt64(), long.MaxValue),
                GgufValueType.Int64 => value.AsInt64(),
                _ => throw Error($"invalid gguf type for {key}: {value.Type}"),
            };
        }

        /// <summary>Special ids: the tokenizer's defaults, disabled when out of range, then the keys (ignored when out of range).</summary>
        void SetSpecialTokens(Vocabulary vocabulary, Defaults defaults)
        {
            var count = vocabulary.Count;
            int Resolve(int fallback, params string[] keys)
            {
                var id = fallback >= count ? NoToken : fallback;
                foreach (var key in keys)
                {
                    if (OptionalInteger(key) is { } value && value < count)
                    {
                        id = (int)value;
                    }
                }
                return id;
            }

            vocabulary.Bos = Resolve(defaults.Bos, TokenizerKeys.BosId);
            vocabulary.Eos = Resolve(defaults.Eos, TokenizerKeys.EosId);
            vocabulary.Eot = Resolve(NoToken, TokenizerKeys.EotId);
            vocabulary.Eom = Resolve(NoToken, TokenizerKeys.EomId);
            vocabulary.Unknown = Resolve(defaults.Unknown, TokenizerKeys.UnknownId);
            vocabulary.Separator = Resolve(defaults.Separator, TokenizerKeys.SeparatorId);
            vocabulary.Padding = Resolve(defaults.Padding, TokenizerKeys.PaddingId);
            vocabulary.Mask = Resolve(defaults.Mask, TokenizerKeys.MaskId);
            vocabulary.FimPrefix = Resolve(NoToken, TokenizerKeys.FimPreId, TokenizerKeys.PrefixId);
            vocabulary.FimSuffix = Resolve(NoToken, TokenizerKeys.FimSufId, TokenizerKeys.SuffixId);
            vocabulary.FimMiddle = Resolve(NoToken, TokenizerKeys.FimMidId, TokenizerKeys.MiddleId);
            vocabulary.FimPad = Resolve(NoToken, TokenizerKeys.FimPadId);
            vocabulary.FimRepository = Resolve(NoToken, TokenizerKeys.FimRepId);
            vocabulary.FimSeparator = Resolve(NoToken, TokenizerKeys.FimSepId);

            vocabulary.AddBos = OptionalBool(TokenizerKeys.AddBos) ?? defaults.AddBos;
            vocabulary.AddEos = OptionalBool(TokenizerKeys.AddEos) ?? defaults.AddEos;
            vocabulary.AddSeparator = OptionalBool("tokenizer.ggml.add_sep_token") ?? defaults.AddSeparator;
            if (vocabulary.AddBos && vocabulary.Bos == NoToken)
            {
                throw Error($"{TokenizerKeys.AddBos} is true, but {TokenizerKeys.BosId} is not set");
            }
            if (vocabulary.AddEos && vocabulary.Eos == NoToken)
            {
                throw Error($"{TokenizerKeys.AddEos} is true, but {TokenizerKeys.EosId} is not set");
            }
        }

        // Texts llama.cpp recognises special tokens by when no key names them (as byte strings, compared without decoding).
        static readonly HashSet<string> EotTexts = ByteStrings("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>");
        static readonly HashSet<string> FimPrefixTexts = ByteStrings("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>");
        static readonly HashSet<string> FimSuffixTexts = ByteStrings("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>");
        static readonly HashSet<string> FimMiddleTexts = ByteStrings("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>");
        static readonly HashSet<string> FimPadTexts = ByteStrings("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>");
        static readonly HashSet<string> FimRepositoryTexts = ByteStrings("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>");
        static readonly HashSet<string> EndOfGenerationTexts = ByteStrings("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>");

        static HashSet<string> ByteStrings(params string[] texts) => new(texts.Select(ByteText.FromUtf8), StringComparer.Ordinal);

        /// <summary>
        /// llama.cpp finds EOT, EOM and the fill-in-the-middle tokens by their text when no key names them, and makes
        /// each one it finds a control token; control tokens named "unused" are marked unused. (llama.cpp walks a
        /// hash map, so which of several candidates wins is unspecified there; the lowest id wins here.)
        /// </summary>
        static void DetectSpecialTokensByText(Vocabulary v)
        {
            int Detect(int current, HashSet<string> texts, int id)
            {
                if (current != NoToken || !texts.Contains(v._texts[id]))
                {
                    return current;
                }
                v._attributes[id] |= TokenAttributes.Control;
                return id;
            }

            var eom = ByteText.FromUtf8("<|eom_id|>");
            var fileSeparator = ByteText.FromUtf8("<|file_sep|>");
            for (var id = 0; id < v.Count; id++)
            {
                // Special texts start with '<', '_' or '▁' (0xE2); skip the rest without hashing them.
                if (v._texts[id][0] is not ('<' or '_' or '\u00E2'))
                {
                    continue;
                }
                v.Eot = Detect(v.Eot, EotTexts, id);
                v.FimPrefix = Detect(v.FimPrefix, FimPrefixTexts, id);
                v.FimSuffix = Detect(v.FimSuffix, FimSuffixTexts, id);
                v.FimMiddle = Detect(v.FimMiddle, FimMiddleTexts, id);
                v.FimPad = Detect(v.FimPad, FimPadTexts, id);
                v.FimRepository = Detect(v.FimRepository, FimRepositoryTexts, id);
                if (v.Eom == NoToken && v._texts[id] == eom)
                {
                    v.Eom = id;
                    v._attributes[id] |= TokenAttributes.Control;
                }
                if (v.FimSeparator == NoToken && v._texts[id] == fileSeparator)
                {
                    v.FimSeparator = id;
                    v._attributes[id] |= TokenAttributes.Control;
                }
            }
            for (var id = 0; id < v.Count; id++)
            {
                if ((v._attributes[id] & TokenAttributes.Control) != 0 && v._texts[id].Contains("unused", StringComparison.Ordinal))
                {
                    v._attributes[id] |= TokenAttributes.Unused;
                }
            }
        }

        static void CollectEndOfGeneration(Vocabulary v)
        {
            foreach (var id in new[] { v.FimPad, v.FimRepository, v.FimSeparator })
            {
                if (id != NoToken)
                {
                    v._endOfGeneration.Add(id);
                }
            }
            for (var id = 0; id < v.Count; id++)
            {
                if (v._texts[id][0] == '<' && EndOfGenerationTexts.Contains(v._texts[id]))
                {
                    v._endOfGeneration.Add(id);
                    v._attributes[id] |= TokenAttributes.Control;
                }
            }
            foreach (var id in new[] { v.Eos, v.Eot, v.Eom })
            {
                if (id != NoToken)
                {
                    v._endOfGeneration.Add(id);
                }
            }
        }

        /// <summary>llama.cpp's cache_special_tokens: longest first (ties by id here; llama.cpp's sort is unstable).</summary>
        static int[] SpecialTokenSearchOrder(string[] texts, TokenAttributes[] attributes)
        {
            var special = new List<int>();
            for (var id = 0; id < texts.Length; id++)
            {
                if ((attributes[id] & (TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown)) != 0)
                {
                    special.Add(id);
                }
            }
            return [.. special.OrderByDescending(id => texts[id].Length).ThenBy(id => id)];
        }

        /// <summary>Attributes llama.cpp sets by model name: Phi-3's special tokens eat the whitespace after them.</summary>
        void ApplyPerModelAttributes(Vocabulary v, TokenAttributes[] attributes)
        {
            var name = (metadata.TryGetValue(GgufKeys.Name, out var n) && n.Type == GgufValueType.String ? n.AsString() : "")
                .ToLowerInvariant();
            var pre = metadata.TryGetValue(TokenizerKeys.Pre, out var p) && p.Type == GgufValueType.String ? p.AsString() : "";
            if (pre is "jina-v2-de" or "jina-v2-es" or "jina-v2-code")
            {
                var mask = v.Find("<mask>");
                if (mask != NoToken)
                {
                    attributes[mask] |= TokenAttributes.LeftStrip;
                }
            }
            else if (name.Contains("phi-3", StringComparison.Ordinal) || name.Contains("phi3", StringComparison.Ordinal))
            {
                foreach (var id in v.SpecialTokens)
                {
                    attributes[id] |= TokenAttributes.RightStrip;
                }
                foreach (var text in new[] { "</s>" })
                {
                    if (v.Find(text) is var id and not NoToken)
                    {
                        attributes[id] |= TokenAttributes.RightStrip;
                    }
                }
                foreach (var text in new[] { "<unk>", "<s>", "<|endoftext|>" })
                {
                    if (v.Find(text) is var id and not NoToken)
                    {
                        attributes[id] &= ~TokenAttributes.RightStrip;
                    }
                }
            }
        }
    }

    sealed class Defaults
    {
        public int Bos = NoToken;
        public int Eos = NoToken;
        public int Unknown = NoToken;
        public int Separator = NoToken;
        public int Padding = NoToken;
        public int Mask = NoToken;
        public bool AddBos;
        public bool AddEos;
        public bool AddSeparator;
        public bool AddSpacePrefix;
        public bool CleanSpaces;
        public bool IgnoreMerges;
        public bool EscapeWhitespaces = true;
    }
}
