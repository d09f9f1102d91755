using System.Text;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;
using Quanta.Inference.Tokenizers;

namespace Quanta.Tests.Inference.Tokenizers;

/// <summary>Every pre-tokenizer name llama.cpp knows: its regexes compile and its splitting loses no text.</summary>
public class PreTokenizerTests
{
    public static TheoryData<string> Names =>
    [
        "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe", "deepseek-llm", "deepseek-coder",
        "deepseek-v3", "falcon", "mpt", "starcoder", "gpt-2", "phi-2", "jina-es", "roberta-bpe", "refact", "command-r",
        "qwen2", "deepseek-r1-qwen", "stablelm2", "olmo", "poro-chat", "bloom", "viking", "chatglm-bpe", "jais",
        "tekken", "smollm", "codeshell", "exaone", "chameleon", "minerva-7b", "gpt-4o", "llama4", "megrez", "trillion",
    ];

    /// <summary>
    /// A byte-level vocabulary with the 256 single-byte tokens and no merges: every split word comes back byte for
    /// byte, so detokenizing must give the text back exactly whatever the pre-tokenizer did.
    /// </summary>
    [Theory]
    [MemberData(nameof(Names))]
    public void Splitting_keeps_every_byte(string name)
    {
        var tokens = Enumerable.Range(0, 256).Select(b => DecodeByteLevel((byte)b)).ToArray();
        var keys = new GgufMetadata
        {
            { TokenizerKeys.Model, GgufValue.String("gpt2") },
            { TokenizerKeys.Pre, GgufValue.String(name) },
            { TokenizerKeys.Tokens, GgufValue.Array(GgufArray.Of(tokens)) },
            // BPE needs merges; this one (bytes 0x00 0x01) never applies to the text.
            { TokenizerKeys.Merges, GgufValue.Array(GgufArray.Of(new[] { "Ā ā" })) },
            { TokenizerKeys.BosId, GgufValue.UInt32(0) },
            { TokenizerKeys.EosId, GgufValue.UInt32(0) },
            { TokenizerKeys.SeparatorId, GgufValue.UInt32(0) },
        };
        var tokenizer = new Tokenizer(Vocabulary.FromMetadata(keys));
        const string text = "Hello wörld 1234567 中文 한국어 🦙 don't I'LL\n\n\t  x  <sentinel:12> IMGIMGABZ x\u3000y\u0085z";
        var ids = tokenizer.Tokenize(text, addSpecial: false);
        Assert.Equal(Encoding.UTF8.GetByteCount(text), ids.Length);
        Assert.Equal(text, tokenizer.DetokenizeToString(ids));
    }

    [Fact]
    public void Unknown_names_are_refused()
    {
        Assert.Null(PreTokenizer.ForName("no-such-pre"));
        Assert.NotNull(PreTokenizer.ForName(null));
    }

    /// <summary>GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others from U+0100 up.</summary>
    static string DecodeByteLevel(byte b)
    {
        var printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        if (printable)
        {
            return ((char)b).ToString();
        }
        var n = 0;
        for (var i = 0; i < b; i++)
        {
            if (!((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE))
            {
                n++;
            }
        }
        return ((char)(256 + n)).ToString();
    }
}
