using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Benchmarks.Gguf;

/// <summary>A synthetic llama-shaped GGUF of about 1 GB, and the copy the benchmarks time.</summary>
public static class GgufBenchFiles
{
    /// <summary>Where the benchmark keeps its big files unless QUANTA_BENCH_DIR says otherwise.</summary>
    public static string Directory => Environment.GetEnvironmentVariable("QUANTA_BENCH_DIR") is { Length: > 0 } dir
        ? dir
        : Path.Combine(Path.GetTempPath(), "quanta-bench");

    public static string DefaultInput => Path.Combine(Directory, "model-1g.gguf");

    /// <summary>
    /// Four llama-7B-sized blocks (F32 norms, F16 attention, Q8_0 feed-forward; about 1.1 GB) and a 32,000-token
    /// vocabulary, so that both the header and the data look like a real model's. The bytes are random: the
    /// writer does not look at them.
    /// </summary>
    public static void Generate(string path)
    {
        const int Embedding = 4096;
        const int FeedForward = 11008;
        const int Vocabulary = 32000;
        var metadata = new GgufMetadata();
        metadata.Add(GgufKeys.Architecture, GgufValue.String("llama"));
        metadata.Add(GgufKeys.Name, GgufValue.String("quanta benchmark"));
        metadata.Add("llama.block_count", GgufValue.UInt32(4));
        metadata.Add("llama.embedding_length", GgufValue.UInt32(Embedding));
        metadata.Add("llama.feed_forward_length", GgufValue.UInt32(FeedForward));
        metadata.Add("tokenizer.ggml.model", GgufValue.String("llama"));
        metadata.Add("tokenizer.ggml.tokens", GgufValue.Array(GgufArray.Of(Enumerable.Range(0, Vocabulary).Select(i => $"tok{i}").ToArray())));
        metadata.Add("tokenizer.ggml.scores", GgufValue.Array(GgufArray.Of(new float[Vocabulary])));
        metadata.Add("tokenizer.ggml.token_type", GgufValue.Array(GgufArray.Of(new int[Vocabulary])));

        var tensors = new List<GgufTensorInfo>();
        for (var b = 0; b < 4; b++)
        {
            tensors.Add(new($"blk.{b}.attn_norm.weight", [Embedding], GgmlType.F32));
            foreach (var name in new[] { "attn_q", "attn_k", "attn_v", "attn_output" })
            {
                tensors.Add(new($"blk.{b}.{name}.weight", [Embedding, Embedding], GgmlType.F16));
            }
            tensors.Add(new($"blk.{b}.ffn_norm.weight", [Embedding], GgmlType.F32));
            tensors.Add(new($"blk.{b}.ffn_gate.weight", [Embedding, FeedForward], GgmlType.Q8_0));
            tensors.Add(new($"blk.{b}.ffn_up.weight", [Embedding, FeedForward], GgmlType.Q8_0));
            tensors.Add(new($"blk.{b}.ffn_down.weight", [FeedForward, Embedding], GgmlType.Q8_0));
        }

        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var random = new Random(42);
        var chunk = new byte[4 << 20];
        using var writer = GgufWriter.Create(path, metadata, tensors);
        foreach (var tensor in tensors)
        {
            for (long left = tensor.ByteSize; left > 0; left -= chunk.Length)
            {
                var span = chunk.AsSpan(0, (int)Math.Min(left, chunk.Length));
                random.NextBytes(span);
                writer.WriteTensorData(span);
            }
        }
        writer.Commit();
    }

    /// <summary>Opens <paramref name="input"/> and streams every tensor through a new writer, in chunks.</summary>
    public static void Copy(string input, string output, int chunkBytes, bool flushToDisk)
    {
        using var source = GgufFile.Open(input);
        var options = new GgufWriterOptions { ProtectedInputs = source.FilePaths, FlushToDisk = flushToDisk };
        using var writer = GgufWriter.Create(output, source.Metadata, [.. source.Tensors.Select(t => t.Info)], options);
        foreach (var tensor in source.Tensors)
        {
            for (long start = 0; start < tensor.ByteSize; start += chunkBytes)
            {
                writer.WriteTensorData(tensor.Slice(start, (int)Math.Min(chunkBytes, tensor.ByteSize - start)));
            }
        }
        writer.Commit();
    }
}
