using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;
using Quanta.Inference.Models;
using Quanta.Tests.Inference.Models;
using Quanta.Tests.Quantization;

namespace Quanta.Tests.Inference.Vision;

/// <summary>
/// Pictures in the language model: the attention mask of Gemma 3's image tokens (each sees the whole image, both ways,
/// as llama.cpp 2026 decodes an image chunk with causal attention off, within the sliding window of the local layers)
/// against straightforward float64 attention, and the placement of embedding rows (<see cref="LlamaModel.EvaluateEmbeddings"/>):
/// rows equal to the scaled token embeddings give the token path's logits bit for bit, which also shows that input rows
/// are not scaled by √n_embd again.
/// </summary>
public sealed class ImageAttentionTests(GoldenModelFiles files) : IClassFixture<GoldenModelFiles>
{
    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 0)]
    [InlineData(true, 6)]
    [InlineData(false, 6)]
    public void Attention_over_the_batch_matches_float64_attention(bool bidirectional, int window)
    {
        const int heads = 2, kvHeads = 1, headDim = 32, capacity = 64, position = 10, tokens = 8;
        const float scale = 0.125f;
        var random = new Random(7);
        float Next() => (random.NextSingle() * 2) - 1;
        var keys = new ushort[kvHeads * capacity * headDim];
        var values = new ushort[kvHeads * headDim * capacity];
        for (var cell = 0; cell < position + tokens; cell++)
        {
            for (var d = 0; d < headDim; d++)
            {
                keys[(cell * headDim) + d] = Fp16.FromFloat(Next() * 2);
                values[(d * capacity) + cell] = Fp16.FromFloat(Next());
            }
        }
        var query = new float[tokens * heads * headDim];
        for (var i = 0; i < query.Length; i++)
        {
            query[i] = Next() * 2;
        }
        Assert.True(VecDots.TryGet(GgmlType.F16, out var keyDot));
        var output = new float[tokens * heads * headDim];
        using (var pool = new WorkerPool(2))
        {
            new AttentionHeads(pool, KernelWidths.Current).Run(
                query, keyDot, MemoryMarshal.AsBytes(keys.AsSpan()).ToArray(), headDim * 2, values, capacity, tokens, position, 32,
                heads, kvHeads, headDim, headDim, window, scale, 0f, output, bidirectional);
        }

        var worst = 0.0;
        for (var t = 0; t < tokens; t++)
        {
            var p = position + t;
            // llama.cpp's mask: a cell of the same sequence is hidden when it is later than the token (causal only) or
            // when p - cell >= n_swa.
            var first = window > 0 ? Math.Max(0, p - window + 1) : 0;
            var end = bidirectional ? position + tokens : p + 1;
            for (var h = 0; h < heads; h++)
            {
                var q = query.AsSpan(((t * heads) + h) * headDim, headDim);
                var scores = new double[end - first];
                for (var j = first; j < end; j++)
                {
                    double s = 0;
                    for (var d = 0; d < headDim; d++)
                    {
                        // The F16 cache's query is rounded to F16 (ggml's vec_dot_f16 operand).
                        s += (double)Fp16.ToFloat(Fp16.FromFloat(q[d])) * Fp16.ToFloat(keys[(j * headDim) + d]);
                    }
                    scores[j - first] = s * scale;
                }
                var max = scores.Max();
                var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                var sum = weights.Sum();
                for (var d = 0; d < headDim; d++)
                {
                    double o = 0;
                    for (var j = first; j < end; j++)
                    {
                        o += weights[j - first] / sum * Fp16.ToFloat(values[(d * capacity) + j]);
                    }
                    worst = Math.Max(worst, Math.Abs(o - output[(((t * heads) + h) * headDim) + d]));
                }
            }
        }
        // The probabilities are rounded to F16 before they weight the values (ggml's kq × v in F16).
        Assert.True(worst <= 2e-3, $"max |Δ| {worst:E3}");
    }

    /// <summary>Token embedding rows as the token path computes them: decoded, times √n_embd for Gemma.</summary>
    static float[] TokenRows(GgufFile file, int[] tokens, bool gemma)
    {
        var table = MultimodalModelFiles.Decode(file.FindTensor("token_embd.weight")!);
        var e = checked((int)file.FindTensor("token_embd.weight")!.Shape[0]);
        var rows = new float[tokens.Length * e];
        var scale = MathF.Sqrt(e);
        for (var t = 0; t < tokens.Length; t++)
        {
            for (var i = 0; i < e; i++)
            {
                var v = table[((long)tokens[t] * e) + i];
                rows[(t * e) + i] = gemma ? v * scale : v;
            }
        }
        return rows;
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gemma3")]
    public void Embedding_rows_in_place_of_tokens_give_the_token_logits(string model)
    {
        int[] tokens = [1, 450, 4996, 17354, 1701, 29916, 432, 17204, 975];
        using var file = GgufFile.Open(files.Path(model, "f32"));
        using var llama = LlamaModel.Load(file, threads: 2);
        var vocabulary = llama.VocabularySize;
        // The same pieces through the token path (a batch's products depend on how many tokens it has).
        var expected = new float[4 * vocabulary];
        llama.Evaluate(tokens.AsSpan(0, 3), 0, tokens.Length, expected);
        // (Only the last row's logits, as for the rows: an output product over more rows may sum in another order.)
        llama.EvaluateLast(tokens.AsSpan(3, 4), 3, tokens.Length, expected);
        var expectedImageEnd = expected.AsSpan(0, vocabulary).ToArray();
        llama.EvaluateLast(tokens.AsSpan(7), 7, tokens.Length, expected);
        var expectedLast = expected.AsSpan(0, vocabulary).ToArray();

        var actual = new float[3 * vocabulary];
        llama.Evaluate(tokens.AsSpan(0, 3), 0, tokens.Length, actual);
        llama.EvaluateEmbeddings(TokenRows(file, tokens[3..7], model == "gemma3"), 3, tokens.Length, actual);
        Assert.Equal(expectedImageEnd, actual.AsSpan(0, vocabulary).ToArray());
        llama.EvaluateLast(tokens.AsSpan(7), 7, tokens.Length, actual);
        Assert.Equal(expectedLast, actual.AsSpan(0, vocabulary).ToArray());
    }

    [Fact]
    public void A_bidirectional_image_is_one_pass_whatever_the_micro_batch_and_differs_from_causal()
    {
        int[] before = [1, 450, 4996];
        int[] after = [17354, 1701];
        using var file = GgufFile.Open(files.Path("gemma3", "f32"));
        using var llama = LlamaModel.Load(file, threads: 2);
        var image = TokenRows(file, [29916, 432, 17204, 975, 322, 278, 3489, 11203], gemma: true);
        var vocabulary = llama.VocabularySize;
        const int context = 32;
        float[] Run(bool bidirectional, int microBatch)
        {
            llama.MicroBatch = microBatch;
            var logits = new float[before.Length * vocabulary];
            llama.Evaluate(before, 0, context, logits);
            llama.EvaluateEmbeddings(image, before.Length, context, logits, bidirectional);
            llama.EvaluateLast(after, before.Length + 8, context, logits);
            return logits.AsSpan(0, vocabulary).ToArray();
        }
        var whole = Run(bidirectional: true, microBatch: 512);
        Assert.Equal(whole, Run(bidirectional: true, microBatch: 3));
        var causal = Run(bidirectional: false, microBatch: 512);
        Assert.Equal(causal, Run(bidirectional: false, microBatch: 3));
        Assert.True(whole.Zip(causal, (a, b) => Math.Abs(a - b)).Max() > 1e-3, "bidirectional attention changed nothing");
    }
}
