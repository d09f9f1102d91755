using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Xunit;
using Xunit.Abstractions;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// <see cref="LlamaModel.MicroBatch"/> (llama.cpp's <c>-ub</c>): a prompt evaluated in pieces through the KV cache
/// gives the logits of one batch and llama.cpp's golden logits (Fixtures/runtime); <see cref="LlamaModel.EvaluateLast"/>
/// gives the last row of them, bit for bit.
/// </summary>
public sealed class MicroBatchTests(GoldenModelFiles files, ITestOutputHelper output) : IClassFixture<GoldenModelFiles>
{
    [Theory]
    [InlineData("llama", "q8_0")]
    [InlineData("mistral", "q4km")]
    public void Pieces_of_a_batch_give_its_logits_and_llama_cpps(string model, string type)
    {
        var reference = GoldenLogitsTests.Reference.Load(model, type);
        using var file = GgufFile.Open(files.Path(model, type));
        using var llama = LlamaModel.Load(file, threads: 2);
        var tokens = reference.Tokens;
        var vocabulary = llama.VocabularySize;
        Assert.Equal(512, llama.MicroBatch);
        var whole = new float[tokens.Length * vocabulary];
        llama.Evaluate(tokens, whole);

        // Pieces of 7: several whole ones and a shorter last one, each continuing the cache of the one before.
        llama.MicroBatch = 7;
        Assert.True(tokens.Length > 2 * 7 && tokens.Length % 7 != 0, $"{tokens.Length} tokens do not make several uneven pieces");
        var pieces = new float[tokens.Length * vocabulary];
        llama.Evaluate(tokens, pieces);
        var worstBatch = 0.0;
        var worstGolden = 0.0;
        for (var p = 0; p < tokens.Length; p++)
        {
            var row = pieces.AsSpan(p * vocabulary, vocabulary);
            for (var i = 0; i < vocabulary; i++)
            {
                worstBatch = Math.Max(worstBatch, Math.Abs(row[i] - whole[(p * vocabulary) + i]));
            }
            foreach (var (id, logit) in reference.Top[p])
            {
                worstGolden = Math.Max(worstGolden, Math.Abs(row[id] - logit));
            }
        }
        output.WriteLine($"{model}.{type}: max |Δlogit| pieces of 7 vs one batch {worstBatch:G3}, vs llama.cpp {worstGolden:G3}");
        Assert.True(worstBatch == 0, $"{model}.{type}: pieces differ from one batch by {worstBatch:G3}");
        Assert.True(worstGolden <= 2e-3, $"{model}.{type}: pieces vs llama.cpp {worstGolden:G3} > 2e-3");

        // Only the last row, computed as the same pieces compute it.
        var last = new float[vocabulary];
        llama.EvaluateLast(tokens, 0, tokens.Length, last);
        Assert.Equal(pieces.AsSpan((tokens.Length - 1) * vocabulary, vocabulary).ToArray(), last);
        Assert.Throws<ArgumentOutOfRangeException>(() => llama.MicroBatch = 0);
    }

    /// <summary>
    /// <see cref="LlamaModel.EvaluateFrom"/> (llama-perplexity's and llama-imatrix's batches that ask for the logits of
    /// the scored half only): the rows from the first asked token of the whole batch's logits, bit for bit, in one
    /// pass or in pieces that start before, at and after that token; asking for none still fills the cache.
    /// </summary>
    [Fact]
    public void Logits_from_a_token_on_are_those_rows_of_the_whole_batch()
    {
        using var file = GgufFile.Open(files.Path("llama", "q8_0"));
        using var llama = LlamaModel.Load(file, threads: 2);
        var tokens = GoldenLogitsTests.Reference.Load("llama", "q8_0").Tokens;
        var n = tokens.Length;
        var vocabulary = llama.VocabularySize;
        var whole = new float[n * vocabulary];
        llama.Evaluate(tokens, whole);
        var first = n / 2;
        foreach (var microBatch in new[] { 512, 7, first, first + 1 })
        {
            llama.MicroBatch = microBatch;
            var tail = new float[(n - first) * vocabulary];
            llama.EvaluateFrom(tokens, 0, n, first, tail);
            Assert.True(whole.AsSpan(first * vocabulary).SequenceEqual(tail), $"micro-batch {microBatch}: rows {first}.. differ from the whole batch's");
        }
        llama.MicroBatch = 512;
        var untouched = new float[vocabulary];
        untouched.AsSpan().Fill(float.NaN);
        llama.EvaluateFrom(tokens, 0, n, n, untouched);
        Assert.All(untouched, value => Assert.True(float.IsNaN(value)));
        Assert.Equal(n, llama.SequenceLength);
        Assert.Throws<ArgumentOutOfRangeException>(() => llama.EvaluateFrom(tokens, 0, n, n + 1, whole));
        Assert.Throws<ArgumentException>(() => llama.EvaluateFrom(tokens, 0, n, first, new float[((n - first) * vocabulary) - 1]));
    }
}
