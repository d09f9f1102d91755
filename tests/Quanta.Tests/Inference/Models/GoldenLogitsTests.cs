using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Xunit;
using Xunit.Abstractions;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// The golden checkpoints run as llama.cpp ran them (Fixtures/runtime, from llama.cpp's own logits): same argmax
/// at every position, the 16 largest logits of every position and two whole rows within the tolerance, and the
/// KL divergence llama.cpp ‖ Quanta of those rows.
/// </summary>
public sealed class GoldenLogitsTests(GoldenModelFiles files, ITestOutputHelper output) : IClassFixture<GoldenModelFiles>
{
    const int TopCount = 16;

    // The targets: |Δlogit| ≤ 2e-3 and mean KL ≤ 2e-6. With ggml's activation rounding and its AVX2 summation
    // orders the quantized files come out bit for bit (0 or a few 1e-7); the f32 files within ~5e-5.
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "llama", "mistral", "gemma" })
        {
            foreach (var type in new[] { "f32", "q8_0", "q4km" })
            {
                data.Add(model, type);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logits_match_llama_cpp(string model, string type)
    {
        var reference = Reference.Load(model, type);
        using var file = GgufFile.Open(files.Path(model, type));
        using var llama = LlamaModel.Load(file, threads: 2);
        Assert.Equal(reference.VocabularySize, llama.VocabularySize);
        var logits = new float[reference.Tokens.Length * llama.VocabularySize];
        llama.Evaluate(reference.Tokens, logits);

        var worst = 0.0;
        for (var p = 0; p < reference.Tokens.Length; p++)
        {
            var row = logits.AsSpan(p * reference.VocabularySize, reference.VocabularySize);
            Assert.True(reference.Top[p][0].Id == ArgMax(row), $"{model}.{type} position {p}: argmax {ArgMax(row)}, llama.cpp {reference.Top[p][0].Id}");
            foreach (var (id, logit) in reference.Top[p])
            {
                worst = Math.Max(worst, Math.Abs(row[id] - logit));
            }
        }
        var meanKl = 0.0;
        for (var r = 0; r < reference.RowPositions.Length; r++)
        {
            var p = reference.RowPositions[r];
            var expected = reference.Rows.AsSpan(r * reference.VocabularySize, reference.VocabularySize);
            var actual = logits.AsSpan(p * reference.VocabularySize, reference.VocabularySize);
            for (var i = 0; i < expected.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]));
            }
            meanKl += KlDivergence(expected, actual) / reference.RowPositions.Length;
        }
        output.WriteLine($"{model}.{type}: max |Δlogit| {worst:G3}, mean KL {meanKl:G3}");
        Assert.True(worst <= 2e-3, $"{model}.{type}: max |Δlogit| {worst:G3} > 2e-3");
        Assert.True(meanKl <= 2e-6, $"{model}.{type}: mean KL {meanKl:G3} > 2e-6");
    }

    internal static int ArgMax(ReadOnlySpan<float> row)
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

    /// <summary>KL(P‖Q) of the two softmaxes, in double.</summary>
    internal static double KlDivergence(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        var logZp = LogSumExp(p);
        var logZq = LogSumExp(q);
        var kl = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            var lp = p[i] - logZp;
            kl += Math.Exp(lp) * (lp - (q[i] - logZq));
        }
        return kl;
    }

    static double LogSumExp(ReadOnlySpan<float> x)
    {
        double max = double.NegativeInfinity;
        foreach (var v in x)
        {
            max = Math.Max(max, v);
        }
        var sum = 0.0;
        foreach (var v in x)
        {
            sum += Math.Exp(v - max);
        }
        return max + Math.Log(sum);
    }

    /// <summary>
    /// Fixtures/runtime/&lt;model&gt;.&lt;type&gt;.json (token ids, the rows kept whole, the 16 largest logits of every
    /// position) and .rows.f32 (those rows), cut from llama.cpp's golden logits to keep the repository small.
    /// </summary>
    internal sealed record Reference(int VocabularySize, int[] Tokens, int[] RowPositions, (int Id, float Logit)[][] Top, float[] Rows)
    {
        public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures", "runtime");

        public static Reference Load(string model, string type)
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory, $"{model}.{type}.json")));
            var root = document.RootElement;
            var rows = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(Directory, $"{model}.{type}.rows.f32"))).ToArray();
            return new Reference(
                root.GetProperty("n_vocab").GetInt32(),
                [.. root.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32())],
                [.. root.GetProperty("rows").EnumerateArray().Select(t => t.GetInt32())],
                [.. root.GetProperty("top").EnumerateArray().Select(position => position.EnumerateArray()
                    .Select(pair => (pair[0].GetInt32(), (float)pair[1].GetDouble())).Take(TopCount).ToArray())],
                rows);
        }
    }
}
