using System.Text.Json;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// gguf-py's <c>SpecialVocab</c> as of the February 2025 converter that wrote the golden files: special token
/// ids (from <c>tokenizer_config.json</c> token names resolved through <c>tokenizer.json</c>'s added tokens,
/// then <c>config.json</c>'s <c>*_token_id</c>), <c>add_bos/eos_token</c>, the chat template and, for BPE, the
/// merges. The first source to name a type wins, and keys come out in the order gguf-py adds them, because
/// byte-identical output depends on it. One addition from the newer gguf-py: <c>chat_template.jinja</c>.
/// </summary>
internal sealed class SpecialVocab
{
    public static readonly string[] DefaultTypes = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"];

    // gguf-py has a writer method only for these; other types (Gemma's "prefix", "suffix" ...) are skipped
    // with a warning there, so they never reach the file.
    static readonly Dictionary<string, string> IdKeys = new(StringComparer.Ordinal)
    {
        ["bos"] = TokenizerKeys.BosId,
        ["eos"] = TokenizerKeys.EosId,
        ["unk"] = TokenizerKeys.UnknownId,
        ["sep"] = TokenizerKeys.SeparatorId,
        ["pad"] = TokenizerKeys.PaddingId,
        ["cls"] = TokenizerKeys.ClsId,
        ["mask"] = TokenizerKeys.MaskId,
        ["eot"] = TokenizerKeys.EotId,
        ["eom"] = TokenizerKeys.EomId,
    };

    static readonly Dictionary<string, string> AddKeys = new(StringComparer.Ordinal)
    {
        ["bos"] = TokenizerKeys.AddBos,
        ["eos"] = TokenizerKeys.AddEos,
    };

    readonly IReadOnlyList<string> _types;
    readonly int? _vocabularySize;
    readonly OrderedDictionary<string, int> _ids = new(StringComparer.Ordinal);
    readonly OrderedDictionary<string, bool> _add = new(StringComparer.Ordinal);

    /// <param name="tokenizerJson">The parsed <c>tokenizer.json</c>, when the directory has one (parsed once by the caller).</param>
    /// <param name="vocabularySize">Ids at or above it are ignored (gguf-py's <c>n_vocab</c>); null: no check.</param>
    public SpecialVocab(string directory, HfTokenizerJson? tokenizerJson, bool loadMerges,
        IReadOnlyList<string>? types = null, int? vocabularySize = null)
    {
        _types = types ?? DefaultTypes;
        _vocabularySize = vocabularySize;
        if (loadMerges && tokenizerJson is not null)
        {
            Merges = tokenizerJson.Merges;
        }
        LoadTokenizerConfig(directory, tokenizerJson?.AddedTokens ?? []);
        LoadConfigJson(directory);
        if (loadMerges && Merges.Count == 0)
        {
            Merges = ReadMergesTxt(Path.Combine(directory, "merges.txt"));
        }
    }

    public IReadOnlyList<string> Merges { get; set; } = [];

    /// <summary>A single template, or named templates (<c>additional_chat_templates/*.jinja</c>); null: none.</summary>
    public ChatTemplate? ChatTemplate { get; set; }

    public IReadOnlyDictionary<string, int> Ids => _ids;

    /// <summary>
    /// Records a special token id unless that type already has one: the first source wins, as in gguf-py.
    /// </summary>
    public void SetSpecialToken(string type, long? id)
    {
        if (id is not { } value)
        {
            return;
        }
        if (value < 0)
        {
            throw new TokenizerFormatException($"invalid value for special token type {type}: {value}");
        }
        if (_vocabularySize is { } n && value >= n)
        {
            return; // gguf-py warns "out of range" and skips.
        }
        _ids.TryAdd(type, checked((int)value));
    }

    /// <summary>Appends the keys in gguf-py's <c>add_to_gguf</c> order: merges, ids, add_* flags, chat template.</summary>
    public void AddTo(GgufMetadata keys)
    {
        if (Merges.Count > 0)
        {
            keys.Add(TokenizerKeys.Merges, GgufValue.Array(GgufArray.Of(Merges.ToArray())));
        }
        foreach (var (type, id) in _ids)
        {
            if (IdKeys.TryGetValue(type, out var key))
            {
                keys.Add(key, GgufValue.UInt32((uint)id));
            }
        }
        foreach (var (type, value) in _add)
        {
            if (AddKeys.TryGetValue(type, out var key))
            {
                keys.Add(key, GgufValue.Bool(value));
            }
        }
        ChatTemplate?.AddTo(keys);
    }

    void LoadTokenizerConfig(string directory, IReadOnlyList<HfAddedToken> addedTokens)
    {
        var path = Path.Combine(directory, "tokenizer_config.json");
        using var document = JsonFields.LoadObjectIfExists(path);
        if (document is null)
        {
            return; // gguf-py returns before the chat template when there is no tokenizer_config.json.
        }
        var config = document.RootElement;

        // tokenizer_config.json's own field wins over the side files, even when it is JSON null.
        if (config.TryGetProperty("chat_template", out var template))
        {
            ChatTemplate = ChatTemplate.FromJson(template);
        }
        else
        {
            ChatTemplate = ChatTemplate.FromSideFiles(directory);
        }

        foreach (var type in _types)
        {
            if (JsonFields.OptionalBool(config, $"add_{type}_token") is { } add)
            {
                _add[type] = add;
            }
            if (!config.TryGetProperty($"{type}_token", out var entry))
            {
                continue;
            }
            var content = entry.ValueKind switch
            {
                JsonValueKind.String => entry.GetString(),
                JsonValueKind.Object => JsonFields.OptionalString(entry, "content"),
                _ => null,
            };
            if (content is null)
            {
                continue;
            }
            // Only tokenizer.json's added tokens are searched, first match: a name that is an ordinary
            // vocabulary entry resolves through config.json instead, or not at all.
            foreach (var token in addedTokens)
            {
                if (token.Content == content)
                {
                    SetSpecialToken(type, token.Id);
                    break;
                }
            }
        }
    }

    void LoadConfigJson(string directory)
    {
        using var document = JsonFields.LoadObjectIfExists(Path.Combine(directory, "config.json"));
        if (document is null)
        {
            return;
        }
        foreach (var type in _types)
        {
            SetSpecialToken(type, JsonFields.OptionalInteger(document.RootElement, $"{type}_token_id"));
        }
    }

    static List<string> ReadMergesTxt(string path)
    {
        var merges = new List<string>();
        if (!File.Exists(path))
        {
            return merges;
        }
        var lines = File.ReadAllLines(path);
        // A first line starting with '#' is the "#version" header of GPT-2's merges.txt.
        var start = lines.Length > 0 && lines[0].Trim().StartsWith('#') ? 1 : 0;
        for (var i = start; i < lines.Length; i++)
        {
            var parts = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            // gguf-py ignores blank and malformed lines (with a warning) rather than failing the conversion.
            if (parts.Length == 2)
            {
                merges.Add($"{parts[0]} {parts[1]}");
            }
        }
        return merges;
    }
}
