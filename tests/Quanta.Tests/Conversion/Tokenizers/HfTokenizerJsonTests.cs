using System.Text.Json;
using Quanta.Conversion.Tokenizers;

namespace Quanta.Tests.Conversion.Tokenizers;

public class HfTokenizerJsonTests
{
    [Fact]
    public void Reads_the_llama2_tokenizer_json()
    {
        var tokenizer = HfTokenizerJson.Read(Path.Combine(TokenizerFixtures.Root, "tokenizer.json"));

        Assert.Equal("BPE", tokenizer.ModelType);
        Assert.Equal(32000, tokenizer.Vocab.Count);
        Assert.Equal(58980, tokenizer.Merges.Count);
        Assert.Equal("\u2581 t", tokenizer.Merges[0]);
        Assert.True(tokenizer.ByteFallback);
        Assert.False(tokenizer.IsByteLevelBpe);
        Assert.Equal("Sequence", tokenizer.DecoderType);
        Assert.Null(tokenizer.PreTokenizer);
        Assert.Equal(new HfAddedToken(1, "<s>", true, false), tokenizer.AddedTokens[1]);
    }

    [Fact]
    public void Array_merges_join_with_a_space_and_shift_inner_spaces()
    {
        var tokenizer = Parse("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", "b"], ["c d", "e"]]}}""");

        Assert.Equal(["a b", "c\u0120d e"], tokenizer.Merges);
    }

    [Fact]
    public void Unigram_vocabularies_keep_their_scores()
    {
        var tokenizer = Parse("""{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["\u2581a", -1.5]]}}""");

        Assert.Equal("Unigram", tokenizer.ModelType);
        Assert.Equal([new("<unk>", 0), new("\u2581a", 1)], tokenizer.Vocab);
        Assert.Equal([0f, -1.5f], tokenizer.UnigramScores);
    }

    [Theory]
    [InlineData("""[]""", "not a JSON object")]
    [InlineData("""{}""", "no \"model\"")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": "x"}}}""", "is not a token id")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {}, "merges": [1]}}""", "neither")]
    [InlineData("""{"model": {"type": "Mystery", "vocab": {}}}""", "unsupported tokenizer model type")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {}}, "added_tokens": [{"content": "x"}]}""", "added_tokens[0]")]
    public void Malformed_files_give_a_format_error(string json, string expected)
    {
        var e = Assert.Throws<TokenizerFormatException>(() => Parse(json));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    static HfTokenizerJson Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return HfTokenizerJson.Parse(document.RootElement);
    }
}
