using System.Globalization;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;
using Quanta.Inference.Models;

namespace Quanta.Server.Scheduling;

/// <summary>
/// What a loaded model takes in memory, estimated before loading it (as Ollama's scheduler estimates a model before it
/// schedules it): the weights (the file, mapped and resident once used), the KV cache of its sequences (parallel ×
/// <c>num_ctx</c> cells in every layer, F16 keys and values, as <see cref="SequenceCache"/> allocates them) and the
/// buffers of a forward pass (one micro-batch of 512 tokens: logits, hidden states, feed-forward activations, one head's
/// attention scores; the logits of each sequence). Also the memory the machine has for it.
/// </summary>
internal static class ModelMemory
{
    /// <summary>llama.cpp's <c>n_ubatch</c>, the engine's micro-batch (<see cref="LlamaModel.MicroBatch"/>).</summary>
    const int MicroBatch = 512;

    /// <summary>
    /// The estimate for <paramref name="modelPath"/> with <paramref name="parallel"/> sequences of
    /// <paramref name="contextLength"/> positions (no longer than the model's training context); the file's size alone
    /// when its metadata cannot be read (the load then says why).
    /// </summary>
    public static long Estimate(string modelPath, int contextLength, int parallel)
    {
        var weights = new FileInfo(modelPath).Length;
        try
        {
            using var file = GgufFile.Open(modelPath);
            var hp = TransformerHyperparameters.FromMetadata(file.Metadata);
            long context = hp.ContextLength > 0 ? Math.Min(contextLength, hp.ContextLength) : contextLength;
            var cells = (context + Attention.KvPadding - 1) / Attention.KvPadding * Attention.KvPadding;
            var keyRow = GgmlTypeInfo.Of(KvCacheTypes.Default.Keys).RowBytes(hp.KeyLength);
            var perCell = (long)hp.BlockCount * hp.KvHeadCount * (keyRow + (2L * hp.ValueLength));
            var kv = parallel * cells * perCell;
            var vocabulary = file.FindTensor("token_embd.weight") is { } embedding ? embedding.Info.Shape[1] : 0;
            var tokens = Math.Min(MicroBatch, context * parallel);
            var perToken = vocabulary + (4L * hp.EmbeddingLength) + (3L * hp.FeedForwardLength) + ((long)hp.HeadCount * context);
            var compute = (tokens * perToken * sizeof(float)) + (2L * parallel * vocabulary * sizeof(float));
            return weights + kv + compute;
        }
        catch (Exception e) when (e is GgufFormatException or FormatException or IOException or ArgumentException or InvalidOperationException)
        {
            return weights;
        }
    }

    /// <summary>
    /// The memory available now: <c>MemAvailable</c> of <c>/proc/meminfo</c> (what the kernel can give without
    /// swapping), else what the runtime sees (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>, the container's limit
    /// included).
    /// </summary>
    public static long Available()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length >= 2 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
                    {
                        return Math.Min(kib * 1024, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary>Ollama's <c>format.HumanBytes2</c>: "4.5 GiB", "512.0 MiB", "3.0 KiB", "12 B".</summary>
    public static string Human(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
