using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Xunit;
using Xunit.Abstractions;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// Decoding through the KV cache (a prompt batch, then one token at a time, or batches at later positions) gives
/// the logits of one batch over the whole sequence, and llama.cpp's golden logits (Fixtures/runtime) position by
/// position.
/// </summary>
public sealed class IncrementalDecodingTests(GoldenModelFiles files, ITestOutputHelper output) : IClassFixture<GoldenModelFiles>
{
    public static TheoryData<string, string> Cases() => new()
    {
        { "llama", "q8_0" },
        { "llama", "f32" },
        { "mistral", "q4km" },
        { "gemma", "q8_0" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void One_token_at_a_time_gives_the_logits_of_one_batch_and_of_llama_cpp(string model, string type)
    {
        var reference = GoldenLogitsTests.Reference.Load(model, type);
        using var file = GgufFile.Open(files.Path(model, type));
        using var llama = LlamaModel.Load(file, threads: 2);
        var tokens = reference.Tokens;
        var vocabulary = llama.VocabularySize;
        var batch = new float[tokens.Length * vocabulary];
        llama.Evaluate(tokens, batch);

        // A prompt of 5 tokens in one batch, then the rest one by one, in a context longer than the sequence.
        const int prompt = 5;
        var context = tokens.Length + 40;
        var incremental = new float[tokens.Length * vocabulary];
        var step = new float[vocabulary];
        llama.Evaluate(tokens.AsSpan(0, prompt), position: 0, context, incremental);
        for (var p = prompt; p < tokens.Length; p++)
        {
            llama.Evaluate(tokens.AsSpan(p, 1), p, context, step);
            step.CopyTo(incremental, p * vocabulary);
        }

        var worstBatch = 0.0;
        var worstGolden = 0.0;
        for (var p = 0; p < tokens.Length; p++)
        {
            var row = incremental.AsSpan(p * vocabulary, vocabulary);
            var whole = batch.AsSpan(p * vocabulary, vocabulary);
            for (var i = 0; i < vocabulary; i++)
            {
                worstBatch = Math.Max(worstBatch, Math.Abs(row[i] - whole[i]));
            }
            Assert.True(reference.Top[p][0].Id == ArgMax(row), $"{model}.{type} position {p}: argmax {ArgMax(row)}, llama.cpp {reference.Top[p][0].Id}");
            foreach (var (id, logit) in reference.Top[p])
            {
                worstGolden = Math.Max(worstGolden, Math.Abs(row[id] - logit));
            }
        }
        output.WriteLine($"{model}.{type}: max |Δlogit| incremental vs batch {worstBatch:G3}, vs llama.cpp {worstGolden:G3}");
        Assert.True(worstBatch <= 1e-4, $"{model}.{type}: incremental vs batch {worstBatch:G3} > 1e-4");
        Assert.True(worstGolden <= 2e-3, $"{model}.{type}: incremental vs llama.cpp {worstGolden:G3} > 2e-3");
    }

    [Fact]
    public void A_batch_at_a_later_position_continues_the_sequence()
    {
        var reference = GoldenLogitsTests.Reference.Load("llama", "q8_0");
        using var file = GgufFile.Open(files.Path("llama", "q8_0"));
        using var llama = LlamaModel.Load(file, threads: 2);
        var tokens = reference.Tokens;
        var vocabulary = llama.VocabularySize;
        var batch = new float[tokens.Length * vocabulary];
        llama.Evaluate(tokens, batch);

        const int first = 10;
        var split = new float[tokens.Length * vocabulary];
        var rest = new float[(tokens.Length - first) * vocabulary];
        llama.Evaluate(tokens.AsSpan(0, first), 0, tokens.Length, split);
        llama.Evaluate(tokens.AsSpan(first), first, tokens.Length, rest);
        rest.CopyTo(split, first * vocabulary);

        var worst = 0.0;
        for (var i = 0; i < batch.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(split[i] - batch[i]));
        }
        Assert.True(worst <= 1e-4, $"two batches vs one: {worst:G3} > 1e-4");

        // A call that does not continue where the sequence ended, or runs past its context, is refused.
        Assert.Throws<ArgumentException>(() => llama.Evaluate(tokens.AsSpan(0, 1), first, tokens.Length, rest));
        Assert.Throws<ArgumentException>(() => llama.Evaluate(tokens.AsSpan(0, 1), tokens.Length, tokens.Length, rest));
    }

    static int ArgMax(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++)
        {
            if (row[i] > row[best])
            {
                best = i;
            }
        }
        return best;
    }
}
