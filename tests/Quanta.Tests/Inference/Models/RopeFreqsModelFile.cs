using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// A llama file with llama3's rope scaling tensor: a dense llama GGUF plus <c>rope_freqs.weight</c>, one F32 factor
/// per rotated pair (<c>1 + 0.25·i</c>, so every pair is scaled differently), which llama.cpp divides into each
/// pair's angle. llama.cpp ran the file this writes for Fixtures/runtime/llama-rope-freqs.*.
/// </summary>
internal static class RopeFreqsModelFile
{
    public static void Write(string densePath, string path)
    {
        using var dense = GgufFile.Open(densePath);
        var heads = dense.Metadata.GetUInt32("llama.attention.head_count");
        var pairs = (int)(dense.Metadata.GetUInt32("llama.embedding_length") / heads / 2);
        var factors = new float[pairs];
        for (var i = 0; i < pairs; i++)
        {
            factors[i] = 1f + 0.25f * i;
        }
        var tensors = dense.Tensors.Select(t => new GgufTensorInfo(t.Name, t.Shape, t.Type)).Append(new GgufTensorInfo("rope_freqs.weight", [pairs], GgmlType.F32)).ToList();
        using var writer = GgufWriter.Create(path, new GgufMetadata(dense.Metadata), tensors, new GgufWriterOptions { FlushToDisk = false });
        foreach (var tensor in dense.Tensors)
        {
            writer.WriteTensor(tensor);
        }
        writer.WriteTensorData(MemoryMarshal.AsBytes(factors.AsSpan()));
        writer.Commit();
    }
}
