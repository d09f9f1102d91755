using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;
using Quanta.Inference.Tokenizers;

namespace Quanta.Tests.Inference.Tokenizers;

/// <summary>
/// The unigram (T5) tokenizer on a small vocabulary whose best segmentations are worked out by hand from the
/// unigram rule (highest sum of scores; an uncovered character costs the lowest score minus 10), chosen so that
/// greedy longest-match would give other answers.
/// </summary>
public class UgmTokenizerTests
{
    static Tokenizer Build(bool removeExtraWhitespaces, byte[]? charsmap = null)
    {
        string[] tokens = ["<pad>", "</s>", "<unk>", "▁", "▁a", "b", "▁ab", "c", "bc", "<x>"];
        float[] scores = [0, 0, 0, -2, -1, -3, -5, -3, -1, 0];
        int[] types = [3, 3, 2, 1, 1, 1, 1, 1, 1, 4];
        var keys = new GgufMetadata
        {
            { TokenizerKeys.Model, GgufValue.String("t5") },
            { TokenizerKeys.Tokens, GgufValue.Array(GgufArray.Of(tokens)) },
            { TokenizerKeys.Scores, GgufValue.Array(GgufArray.Of(scores)) },
            { TokenizerKeys.TokenType, GgufValue.Array(GgufArray.Of(types)) },
            { TokenizerKeys.AddSpacePrefix, GgufValue.Bool(true) },
            { TokenizerKeys.RemoveExtraWhitespaces, GgufValue.Bool(removeExtraWhitespaces) },
        };
        if (charsmap is not null)
        {
            keys.Add(TokenizerKeys.PrecompiledCharsmap, GgufValue.Array(GgufArray.Of(charsmap)));
        }
        return new Tokenizer(Vocabulary.FromMetadata(keys));
    }

    /// <summary>
    /// A precompiled charsmap mapping "A" to "a", built by hand in SentencePiece's format: a 32-bit size, XCDA
    /// nodes (BASE &lt;&lt; 10 | LEAF &lt;&lt; 8 | LCHECK), then NUL-terminated replacements. The root's BASE is 1;
    /// 'A' (0x41) leads to node 1 ^ 0x41 = 64, a leaf whose BASE 66 leads to node 64 ^ 66 = 2, holding the
    /// replacement's offset 0.
    /// </summary>
    static byte[] UppercaseACharsmap()
    {
        var nodes = new uint[256];
        nodes[0] = 1u << 10;
        nodes[64] = (66u << 10) | (1u << 8) | 0x41;
        nodes[2] = 0;
        var blob = new List<byte>(BitConverter.GetBytes((uint)(nodes.Length * 4)));
        foreach (var node in nodes)
        {
            blob.AddRange(BitConverter.GetBytes(node));
        }
        blob.AddRange("a\0"u8.ToArray());
        return [.. blob];
    }

    [Fact]
    public void Precompiled_charsmap_normalizes_before_segmenting()
    {
        Assert.Equal([3, 2, 8], Build(removeExtraWhitespaces: true).Tokenize("Abc", addSpecial: false));
        Assert.Equal([4, 8], Build(removeExtraWhitespaces: true, UppercaseACharsmap()).Tokenize("Abc", addSpecial: false));
    }

    [Theory]
    [InlineData("abc", new[] { 4, 8 })]        // ▁a + bc = -2 beats ▁ab + c = -8
    [InlineData("abz", new[] { 4, 5, 2 })]     // ▁a + b + unk = -19 beats ▁ab + unk = -20
    [InlineData("zz", new[] { 3, 2 })]         // two unknown characters become one <unk>
    [InlineData("a   bc", new[] { 4, 3, 8 })]  // extra spaces merged: ▁a ▁ bc
    [InlineData("a<x>c", new[] { 4, 9, 3, 7 })] // user-defined token cut out; each side normalized on its own
    public void Picks_the_highest_scoring_segmentation(string text, int[] expected)
    {
        Assert.Equal(expected, Build(removeExtraWhitespaces: true).Tokenize(text, addSpecial: false));
    }

    [Fact]
    public void Keeps_every_space_unless_asked_to_merge_them()
    {
        Assert.Equal([4, 3, 3, 3, 8], Build(removeExtraWhitespaces: false).Tokenize("a   bc", addSpecial: false));
    }

    [Fact]
    public void Adds_eos_not_bos_and_detokenizes_back()
    {
        var tokenizer = Build(removeExtraWhitespaces: true);
        var tokens = tokenizer.Tokenize("abc", addSpecial: true);
        Assert.Equal([4, 8, 1], tokens);
        Assert.Equal("abc", tokenizer.DetokenizeToString(tokens));
    }
}
