using Quanta.Inference.Sampling;
using Quanta.Inference.Sampling.Grammar;

namespace Quanta.Tests.Inference.Sampling.Grammar;

/// <summary>
/// Hand-checked candidate sets, each worked through llama.cpp's <c>llama_grammar_apply_impl</c> by reading
/// its code: a token's text must continue the grammar in full or end inside a UTF-8 sequence that still can;
/// empty texts never pass; the end-of-generation token passes only where the grammar can end.
/// </summary>
public class GrammarMaskingTests
{
    // 0 is the end-of-generation token; 4 and 5 are the two bytes of "é" (C3 A9) as byte tokens
    sealed class SmallVocabulary : ISamplingVocabulary
    {
        public static readonly byte[][] Texts = ["</s>"u8.ToArray(), "a"u8.ToArray(), "ab"u8.ToArray(), "b"u8.ToArray(), [0xC3], [0xA9], "é"u8.ToArray(), [], "x"u8.ToArray()];

        public int Count => Texts.Length;

        public ReadOnlySpan<byte> TokenText(int token) => Texts[token];

        // whole texts only: the grammar never tokenizes
        public IReadOnlyList<int> Tokenize(ReadOnlySpan<byte> text)
        {
            for (var t = 1; t < Texts.Length; t++)
            {
                if (text.SequenceEqual(Texts[t]))
                {
                    return [t];
                }
            }
            return [];
        }

        public bool IsEndOfGeneration(int token) => token == 0;
    }

    static int[] Allowed(GrammarSampler sampler)
    {
        var candidates = new TokenCandidates(SmallVocabulary.Texts.Length);
        candidates.Load(new float[SmallVocabulary.Texts.Length]);
        sampler.Apply(candidates);
        return [.. candidates.Span.ToArray().Where(c => c.Logit == 0f).Select(c => c.Id)];
    }

    [Fact]
    public void MasksTokenByTokenAcrossASplitCharacter()
    {
        var sampler = new GrammarSampler("root ::= \"a\" \"b\"? \"é\"", new SmallVocabulary());
        // "a" and "ab" start the grammar; C3 can only begin a character from U+00C0 up, not "a"
        Assert.Equal([1, 2], Allowed(sampler));
        sampler.Accept(1);
        // "b", the lead byte of é (its completions U+00C0..U+00FF include é) or "é" itself; A9 alone is no character
        Assert.Equal([3, 4, 6], Allowed(sampler));
        sampler.Accept(4);
        // only the continuation byte completes é; a new lead byte breaks the pending sequence
        Assert.Equal([5], Allowed(sampler));
        sampler.Accept(5);
        Assert.Equal([0], Allowed(sampler));
        sampler.Accept(0);
        Assert.True(sampler.Matcher.CanEnd);
    }

    [Fact]
    public void RefusedTokensThrowAndResetStartsOver()
    {
        var sampler = new GrammarSampler("root ::= \"a\" \"b\"? \"é\"", new SmallVocabulary());
        Assert.Throws<InvalidOperationException>(() => sampler.Accept(0));
        Assert.Throws<InvalidOperationException>(() => sampler.Accept(8));
        sampler.Reset();
        Assert.True(sampler.Allows(2));
        Assert.False(sampler.Allows(7));
    }

    [Fact]
    public void TheChainDrawsAgainOnlyWhenTheGrammarRefusesItsChoice()
    {
        var vocabulary = new SmallVocabulary();
        var parameters = new SamplingParameters { Temperature = 0f, Grammar = "root ::= \"a\" \"b\"? \"é\"" };
        var chain = SamplerChainBuilder.Build(parameters, vocabulary.Count, vocabulary: vocabulary);
        // the greedy choice "x" breaks the grammar: the masked draw takes "ab", the best the grammar allows
        float[] logits = [0f, 1f, 2f, 0f, 0f, 0f, 0f, 0f, 5f];
        Assert.Equal(2, chain.Sample(logits));
        // now "é" is the greedy choice and allowed: the chain's own draw stands, nothing is masked
        float[] next = [0f, 3f, 0f, 0f, 0f, 0f, 4f, 0f, 0f];
        Assert.Equal(6, chain.Sample(next));
        // prompt tokens do not advance the grammar
        chain.Accept(8);
        Assert.True(chain.Grammar!.Matcher.CanEnd);
        chain.Reset();
        Assert.False(chain.Grammar.Matcher.CanEnd);
    }
}
