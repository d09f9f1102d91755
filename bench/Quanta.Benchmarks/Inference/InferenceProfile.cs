using System.Diagnostics;
using System.Globalization;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;
using Quanta.Inference.Models;

namespace Quanta.Benchmarks.Inference;

/// <summary>
/// <c>inference-profile MODEL [--tokens 1,128] [--threads 2] [--runs 3]</c>: where a forward pass spends its time.
/// Every matrix of the model is multiplied as the forward pass multiplies it (<see cref="MatMul"/>: activations
/// converted to the weight type's <c>vec_dot_type</c>, then the dot products), grouped by tensor kind and type; the
/// whole forward pass (<see cref="LlamaModel.EvaluateLast"/>) is timed too, and the difference is everything that is
/// not a matrix product (attention over the KV cache, norms, rope, activations, the embedding lookup). Times are the
/// best of the runs, per batch of that many tokens.
/// </summary>
internal static class InferenceProfile
{
    public static int Run(string[] args)
    {
        var path = args.FirstOrDefault() ?? throw new ArgumentException("usage: inference-profile MODEL [--tokens 1,128] [--threads 2] [--runs 3]");
        int[] tokenCounts = [1, 128];
        var threads = 2;
        var runs = 3;
        for (var i = 1; i < args.Length - 1; i += 2)
        {
            switch (args[i])
            {
                case "--tokens":
                    tokenCounts = [.. args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
                    break;
                case "--threads":
                    threads = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    break;
                case "--runs":
                    runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        using var file = GgufFile.Open(path);
        using var model = LlamaModel.Load(file, threads);
        using var pool = new WorkerPool(threads);
        var matMul = new MatMul(pool, KernelWidths.Current);
        // The matrices of a forward pass: every blk.N.* weight of two dimensions, and the output (or the tied embedding).
        var matrices = file.Tensors
            .Where(t => t.Name.StartsWith("blk.", StringComparison.Ordinal) && t.Shape.Count == 2)
            .Append(file.FindTensor("output.weight") ?? file.FindTensor("token_embd.weight")!)
            .Select(t => (Kind: t.Name.StartsWith("blk.", StringComparison.Ordinal) ? t.Name[(t.Name.IndexOf('.', 4) + 1)..].Replace(".weight", "", StringComparison.Ordinal) : "output", Weights: new LinearWeights(t)))
            .ToArray();
        Console.WriteLine($"{Path.GetFileName(path)}: {threads} threads, width {KernelWidths.Current}, best of {runs} runs");
        foreach (var tokens in tokenCounts)
        {
            var random = new Random(1);
            var x = new float[tokens * matrices.Max(m => m.Weights.Columns)];
            for (var i = 0; i < x.Length; i++)
            {
                x[i] = (float)((random.NextDouble() * 2) - 1);
            }
            var y = new float[tokens * matrices.Max(m => m.Weights.Rows)];
            var ids = Enumerable.Range(0, tokens).Select(_ => random.Next(model.VocabularySize)).ToArray();
            var logits = new float[model.VocabularySize];
            // The output matrix runs for the last token only, as llama-bench asks.
            double Time(Action action)
            {
                action();
                var best = double.MaxValue;
                for (var r = 0; r < runs; r++)
                {
                    var start = Stopwatch.GetTimestamp();
                    action();
                    best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                return best;
            }
            var forward = Time(() => model.EvaluateLast(ids, 0, tokens, logits));
            var rows = matrices
                .GroupBy(m => (m.Kind, Type: GgmlTypeInfo.Of(m.Weights.Tensor.Type).Name))
                .Select(g => (g.Key.Kind, g.Key.Type, Count: g.Count(), Ms: Time(() =>
                {
                    foreach (var (kind, weights) in g)
                    {
                        matMul.Multiply(weights, x, kind == "output" ? 1 : tokens, y);
                    }
                })))
                .OrderByDescending(r => r.Ms)
                .ToArray();
            var products = rows.Sum(r => r.Ms);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{tokens} token(s): forward pass {forward:F1} ms ({tokens * 1000 / forward:F2} t/s)"));
            Console.WriteLine("| kernel | tensors | ms | share of the forward pass |");
            Console.WriteLine("|---|---:|---:|---:|");
            foreach (var (kind, type, count, ms) in rows)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {kind} {type} | {count} | {ms:F1} | {100 * ms / forward:F0} % |"));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| everything else (attention, norms, rope, SiLU, embedding) | | {Math.Max(0, forward - products):F1} | {100 * Math.Max(0, forward - products) / forward:F0} % |"));
        }
        return 0;
    }
}
