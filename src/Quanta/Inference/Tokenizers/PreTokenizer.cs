namespace Quanta.Inference.Tokenizers;

/// <summary>
/// What a <c>tokenizer.ggml.pre</c> name means to llama.cpp's BPE tokenizer (llama-vocab.cpp): the splitting
/// regexes, in order, and the flags that come with the name.
/// </summary>
/// <param name="Name">The name as the file spells it.</param>
/// <param name="Regexes">The splitting regexes, in llama.cpp's spelling (its hand-written splitters key on it).</param>
/// <param name="IgnoreMerges">A word that is a token as a whole is not merged (Llama 3).</param>
/// <param name="CleanSpaces">Detokenization removes the spaces before punctuation (clean_up_tokenization_spaces).</param>
/// <param name="AddBos">The name's own BOS default, before <c>tokenizer.ggml.add_bos_token</c>; null when it has none.</param>
/// <param name="AddSeparator">A separator token ends every tokenization with special tokens (RoBERTa).</param>
/// <param name="NoBos">The name disables the BOS token (ChatGLM).</param>
internal sealed record PreTokenizer(
    string Name, string[] Regexes, bool IgnoreMerges = false, bool CleanSpaces = true, bool? AddBos = null,
    bool AddSeparator = false, bool NoBos = false)
{
    const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    const string Llama3 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string Qwen2 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    // Cased letters (\p{L&}); characters whose NFC form differs are escaped so that no editor can normalize them.
    const string DeepSeekLlmLetters = "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+";
    const string DeepSeek3Words = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
    const string Gpt4o = @"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string Tekken = @"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string Poro = " ?[^(\\s|.,!?…。，、।۔،)]+";

    static readonly string[] DefaultRegexes = [@"[\p{P}\$\+<=>\^~\|]+", Gpt2, @"\p{N}+", "[0-9][0-9][0-9]"];
    static readonly string[] Gpt2Regexes = [Gpt2];
    static readonly string[] Llama3Regexes = [Llama3];
    static readonly string[] Qwen2Regexes = [Qwen2];
    static readonly string[] StarCoderRegexes = [@"\p{N}", Gpt2];
    static readonly string[] FalconRegexes = [@"[\p{P}\$\+<=>\^~\|`]+", Gpt2, "[0-9][0-9][0-9]"];
    static readonly string[] DeepSeekLlmRegexes = ["[\r\n]", DeepSeekLlmLetters, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", @"\p{N}+"];
    static readonly string[] DeepSeekCoderRegexes = ["[\r\n]", @"\s?\p{L}+", @"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+", @"\p{N}"];
    static readonly string[] DeepSeek3Regexes = [@"\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", DeepSeek3Words];
    static readonly string[] ChameleonRegexes =
        ["<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", @"([\t\n]|    |  )", @"\p{N}", @"[\p{P}!-/:-@\[-`{-~]", Gpt2];
    static readonly string[] PoroRegexes = [Poro];
    static readonly string[] VikingRegexes = [Poro, @"\p{N}"];
    static readonly string[] Gpt4oRegexes = [Gpt4o];
    static readonly string[] TekkenRegexes = [Tekken];

    /// <summary>The pre-tokenizer llama.cpp uses for a name; null for a name it does not know.</summary>
    public static PreTokenizer? ForName(string? name) => name switch
    {
        null or "" or "default" => new(name ?? "default", DefaultRegexes),
        "llama3" or "llama-v3" or "llama-bpe" or "falcon3" or "falcon-h1" or "pixtral" or "midm-2.0" or "lfm2"
            => new(name, Llama3Regexes, IgnoreMerges: true, AddBos: true),
        "dbrx" or "smaug-bpe" => new(name, Llama3Regexes),
        "deepseek-llm" => new(name, DeepSeekLlmRegexes, CleanSpaces: false),
        "deepseek-coder" => new(name, DeepSeekCoderRegexes, CleanSpaces: false),
        "deepseek-v3" or "hunyuan-dense" => new(name, DeepSeek3Regexes, CleanSpaces: false),
        "falcon" => new(name, FalconRegexes),
        "mpt" or "olmo" or "jais" or "exaone4" => new(name, Gpt2Regexes),
        "gpt-2" or "phi-2" or "jina-es" or "jina-de" or "gigachat" or "jina-v2-es" or "jina-v2-de" or "a.x-4.0"
            or "mellum" or "modern-bert" => new(name, Gpt2Regexes),
        "jina-v1-en" or "jina-v2-code" or "roberta-bpe" => new(name, Gpt2Regexes, AddSeparator: true),
        "trillion" or "granite-docling" => new(name, Gpt2Regexes, CleanSpaces: false),
        "starcoder" or "refact" or "codeshell" or "exaone" or "minerva-7b" => new(name, StarCoderRegexes),
        "command-r" or "smollm" => new(name, StarCoderRegexes, CleanSpaces: false),
        "qwen2" or "deepseek-r1-qwen" or "kormo" or "hunyuan" => new(name, Qwen2Regexes, CleanSpaces: false),
        "stablelm2" or "megrez" => new(name, Qwen2Regexes),
        "poro-chat" => new(name, PoroRegexes, CleanSpaces: false),
        "bloom" or "gpt3-finnish" => new(name, PoroRegexes),
        "viking" => new(name, VikingRegexes, CleanSpaces: false),
        "glm4" or "chatglm-bpe" => new(name, Llama3Regexes, NoBos: true),
        "tekken" => new(name, TekkenRegexes, IgnoreMerges: true, CleanSpaces: false, AddBos: true),
        "chameleon" => new(name, ChameleonRegexes, CleanSpaces: false, AddBos: true),
        "gpt-4o" or "llama4" => new(name, Gpt4oRegexes, CleanSpaces: false),
        _ => null,
    };
}
