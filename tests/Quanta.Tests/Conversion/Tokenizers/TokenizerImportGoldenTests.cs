using System.Text.Json;
using Quanta.Conversion.Tokenizers;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;

namespace Quanta.Tests.Conversion.Tokenizers;

/// <summary>
/// The tokenizer keys of the four golden conversions (convert_hf_to_gguf.py, February 2025, real Llama 2
/// tokenizer): same keys, same order, same values (long arrays through their JSON SHA-256 summary), and the
/// value types llama.cpp's loader checks.
/// </summary>
public class TokenizerImportGoldenTests
{
    public static TheoryData<string, TokenizerFamily> Models => new()
    {
        { "llama", TokenizerFamily.Llama },
        { "mistral", TokenizerFamily.Llama },
        { "gemma", TokenizerFamily.Gemma },
        { "phi3", TokenizerFamily.Phi3 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Keys_equal_the_converters(string model, TokenizerFamily family)
    {
        using var checkpoint = TokenizerFixtures.Golden(model);
        var expected = ExpectedTokenizerKeys(model);

        var keys = TokenizerImport.Read(checkpoint.Directory, family, vocabSize: 32000);

        Assert.Equal(expected.Select(e => e.Key), keys.Select(k => k.Key));
        foreach (var ((key, want), (_, value)) in expected.Zip(keys))
        {
            Assert.True(want == Render(value), $"{key}: expected {want}, got {Render(value)}");
            Assert.Equal(ExpectedType(key), Describe(value));
        }
    }

    [Fact]
    public void Architectures_map_to_the_converters_families()
    {
        Assert.True(TokenizerFamilies.TryFromArchitecture("MistralForCausalLM", out var mistral));
        Assert.Equal(TokenizerFamily.Llama, mistral);
        Assert.True(TokenizerFamilies.TryFromArchitecture("Qwen3ForCausalLM", out var qwen3));
        Assert.Equal(TokenizerFamily.Qwen2, qwen3);
        Assert.False(TokenizerFamilies.TryFromArchitecture("BertModel", out _));
    }

    [Fact]
    public void Vocabulary_is_padded_to_the_config_vocab_size()
    {
        using var checkpoint = TokenizerFixtures.Golden("llama");

        var keys = new GgufMetadata(TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Llama, vocabSize: 32003));

        var tokens = keys.GetArray(TokenizerKeys.Tokens).As<string>();
        Assert.Equal(32003, tokens.Length);
        Assert.Equal("[PAD32002]", tokens[32002]);
        Assert.Equal(-10000f, keys.GetArray(TokenizerKeys.Scores).As<float>()[32001]);
        Assert.Equal((int)GgufTokenType.Unused, keys.GetArray(TokenizerKeys.TokenType).As<int>()[32000]);
    }

    [Fact]
    public void Chat_template_comes_from_chat_template_jinja_when_the_config_has_none()
    {
        using var checkpoint = TokenizerFixtures.Golden("llama");
        File.WriteAllText(Path.Combine(checkpoint.Directory, "chat_template.jinja"), "{{ messages }}");

        var keys = TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Llama, vocabSize: 32000);

        Assert.Equal(TokenizerKeys.ChatTemplate, keys[^1].Key);
        Assert.Equal("{{ messages }}", keys[^1].Value.AsString());
    }

    [Fact]
    public void A_missing_tokenizer_model_is_a_clear_error_for_gemma()
    {
        using var checkpoint = TokenizerFixtures.Golden("gemma");
        File.Delete(Path.Combine(checkpoint.Directory, "tokenizer.model"));

        var e = Assert.Throws<TokenizerFormatException>(() => TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Gemma, 32000));
        Assert.Contains("tokenizer.model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Llama_without_tokenizer_model_uses_the_sentencepiece_style_tokenizer_json()
    {
        using var checkpoint = TokenizerFixtures.Golden("llama");
        File.Delete(Path.Combine(checkpoint.Directory, "tokenizer.model"));

        var keys = new GgufMetadata(TokenizerImport.Read(checkpoint.Directory, TokenizerFamily.Llama, vocabSize: 32000));

        Assert.Equal("llama", keys.GetString(TokenizerKeys.Model));
        Assert.Equal("default", keys.GetString(TokenizerKeys.Pre));
        var tokens = keys.GetArray(TokenizerKeys.Tokens).As<string>();
        var types = keys.GetArray(TokenizerKeys.TokenType).As<int>();
        Assert.Equal(32000, tokens.Length);
        Assert.Equal(("<s>", (int)GgufTokenType.Control), (tokens[1], types[1]));
        Assert.Equal(("<0x0A>", (int)GgufTokenType.Byte), (tokens[13], types[13]));
        Assert.Equal(("\u2581t", (int)GgufTokenType.Normal), (tokens[261], types[261]));
        Assert.False(keys.ContainsKey(TokenizerKeys.Merges));
        Assert.Equal(1u, keys.GetUInt32(TokenizerKeys.BosId));
    }

    internal static List<KeyValuePair<string, string>> ExpectedTokenizerKeys(string model)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerFixtures.Root, model, "expected.f16.json")));
        var result = new List<KeyValuePair<string, string>>();
        foreach (var property in document.RootElement.GetProperty("kv").EnumerateObject())
        {
            if (property.Name.StartsWith("tokenizer.", StringComparison.Ordinal))
            {
                result.Add(new(property.Name, property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    _ => property.Value.GetRawText(),
                }));
            }
        }
        return result;
    }

    /// <summary>A value the way the golden files write it.</summary>
    internal static string Render(GgufValue value) => value.Type switch
    {
        GgufValueType.Array => PythonJson.Summarize(value.AsArray()),
        GgufValueType.Bool => value.AsBool() ? "true" : "false",
        GgufValueType.String => value.AsString(),
        _ => Convert.ToString(value.RawValue, System.Globalization.CultureInfo.InvariantCulture)!,
    };

    static string Describe(GgufValue value) => value.Type == GgufValueType.Array
        ? $"array[{GgufValueTypes.Name(value.AsArray().ElementType)}]"
        : GgufValueTypes.Name(value.Type);

    /// <summary>The value types convert_hf_to_gguf writes (and llama.cpp's loader insists on).</summary>
    static string ExpectedType(string key) => key switch
    {
        TokenizerKeys.Model or TokenizerKeys.Pre or TokenizerKeys.ChatTemplate => GgufValueTypes.Name(GgufValueType.String),
        TokenizerKeys.Tokens or TokenizerKeys.Merges => $"array[{GgufValueTypes.Name(GgufValueType.String)}]",
        TokenizerKeys.Scores => $"array[{GgufValueTypes.Name(GgufValueType.Float32)}]",
        TokenizerKeys.TokenType => $"array[{GgufValueTypes.Name(GgufValueType.Int32)}]",
        _ when key.EndsWith("_token_id", StringComparison.Ordinal) => GgufValueTypes.Name(GgufValueType.UInt32),
        _ when key.StartsWith("tokenizer.ggml.add_", StringComparison.Ordinal) => GgufValueTypes.Name(GgufValueType.Bool),
        _ => throw new InvalidOperationException($"no expected type for {key}"),
    };
}
