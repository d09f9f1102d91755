using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Tests.Conversion;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// A Mixtral-style llama file made from a dense llama GGUF (no converter writes one from a tiny checkpoint): the
/// same metadata plus <c>llama.expert_count = 4</c> and <c>llama.expert_used_count = 2</c>, the same tensors except
/// each block's dense feed-forward, which is replaced by a router (<c>ffn_gate_inp</c>) and four experts
/// (<c>ffn_{gate,up,down}_exps</c>), all F32, from the golden README's splitmix64 stream (seed 1111, router scale
/// 0.5, experts 0.04, in layer order: router, gate, up, down). llama.cpp ran the file this writes for
/// Fixtures/runtime/llama-moe.*.
/// </summary>
internal static partial class MoeModelFile
{
    public const int Experts = 4;
    public const int ExpertsUsed = 2;
    const ulong Seed = 1111;

    [GeneratedRegex(@"^blk\.\d+\.ffn_(gate|up|down)\.weight$")]
    private static partial Regex DenseFeedForward();

    public static void Write(string densePath, string path)
    {
        using var dense = GgufFile.Open(densePath);
        var metadata = new GgufMetadata(dense.Metadata);
        metadata.Set("llama.expert_count", GgufValue.UInt32(Experts));
        metadata.Set("llama.expert_used_count", GgufValue.UInt32(ExpertsUsed));
        var e = (long)dense.Metadata.GetUInt32("llama.embedding_length");
        var ff = (long)dense.Metadata.GetUInt32("llama.feed_forward_length");
        var blocks = (int)dense.Metadata.GetUInt32("llama.block_count");
        var kept = dense.Tensors.Where(t => !DenseFeedForward().IsMatch(t.Name)).ToList();
        var generated = new List<(GgufTensorInfo Info, double Scale)>();
        for (var i = 0; i < blocks; i++)
        {
            generated.Add((new GgufTensorInfo($"blk.{i}.ffn_gate_inp.weight", [e, Experts], GgmlType.F32), 0.5));
            generated.Add((new GgufTensorInfo($"blk.{i}.ffn_gate_exps.weight", [e, ff, Experts], GgmlType.F32), 0.04));
            generated.Add((new GgufTensorInfo($"blk.{i}.ffn_up_exps.weight", [e, ff, Experts], GgmlType.F32), 0.04));
            generated.Add((new GgufTensorInfo($"blk.{i}.ffn_down_exps.weight", [ff, e, Experts], GgmlType.F32), 0.04));
        }
        using var writer = GgufWriter.Create(path, metadata, [.. kept.Select(t => new GgufTensorInfo(t.Name, t.Shape, t.Type)), .. generated.Select(g => g.Info)], new GgufWriterOptions { FlushToDisk = false });
        foreach (var tensor in kept)
        {
            writer.WriteTensor(tensor);
        }
        ulong k = 0;
        foreach (var (info, scale) in generated)
        {
            var values = new float[info.ElementCount];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)(scale * TinyCheckpoint.X(Seed, ++k));
            }
            writer.WriteTensorData(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        writer.Commit();
    }
}
