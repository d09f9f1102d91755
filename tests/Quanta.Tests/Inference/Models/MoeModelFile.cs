using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Tests.Conversion;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// Mixture-of-experts files made from a dense GGUF (no converter writes one from a tiny checkpoint): the same
/// metadata plus <c>expert_count = 4</c> and <c>expert_used_count = 2</c>, the same tensors except each block's dense
/// feed-forward, replaced by a router (<c>ffn_gate_inp</c>) and four experts (<c>ffn_{gate,up,down}_exps</c>), all
/// F32, from the golden README's splitmix64 stream (seed 1111, router scale 0.5, experts 0.04, in layer order:
/// router, gate, up, down). <see cref="Write"/> makes a Mixtral-style llama from llama's file; with
/// <c>qwen2Moe</c> it makes a qwen2moe from qwen2's (keys renamed to <c>qwen2moe.*</c>, experts 128 wide, and a
/// shared expert 256 wide after them in each layer: gate input (scale 0.5), gate, up, down). llama.cpp ran the files
/// this writes for Fixtures/runtime/llama-moe.* and qwen2moe.*.
/// </summary>
internal static partial class MoeModelFile
{
    public const int Experts = 4;
    public const int ExpertsUsed = 2;
    const ulong Seed = 1111;
    const int Qwen2ExpertLength = 128;
    const int Qwen2SharedLength = 256;

    [GeneratedRegex(@"^blk\.\d+\.ffn_(gate|up|down)\.weight$")]
    private static partial Regex DenseFeedForward();

    public static void Write(string densePath, string path, bool qwen2Moe = false)
    {
        using var dense = GgufFile.Open(densePath);
        var from = dense.Metadata.GetString(GgufKeys.Architecture);
        var arch = qwen2Moe ? "qwen2moe" : from;
        var metadata = new GgufMetadata(dense.Metadata.Select(kv => kv.Key.StartsWith(from + ".", StringComparison.Ordinal)
            ? new KeyValuePair<string, GgufValue>(arch + kv.Key[from.Length..], kv.Value)
            : kv));
        metadata.Set(GgufKeys.Architecture, GgufValue.String(arch));
        metadata.Set($"{arch}.expert_count", GgufValue.UInt32(Experts));
        metadata.Set($"{arch}.expert_used_count", GgufValue.UInt32(ExpertsUsed));
        var e = (long)dense.Metadata.GetUInt32($"{from}.embedding_length");
        var ff = (long)dense.Metadata.GetUInt32($"{from}.feed_forward_length");
        if (qwen2Moe)
        {
            metadata.Set($"{arch}.expert_feed_forward_length", GgufValue.UInt32(Qwen2ExpertLength));
            metadata.Set($"{arch}.expert_shared_feed_forward_length", GgufValue.UInt32(Qwen2SharedLength));
            ff = Qwen2ExpertLength;
        }
        var blocks = (int)dense.Metadata.GetUInt32($"{from}.block_count");
        var kept = dense.Tensors.Where(t => !DenseFeedForward().IsMatch(t.Name)).ToList();
        var generated = new List<(GgufTensorInfo Info, double Scale)>();
        for (var i = 0; i < blocks; i++)
        {
            generated.Add((new GgufTensorInfo($"blk.{i}.ffn_gate_inp.weight", [e, Experts], GgmlType.F32), 0.5));
            generated.Add((new GgufTensorInfo($"blk.{i}.ffn_gate_exps.weight", [e, ff, Experts], GgmlType.F32), 0.04));
            generated.Add((new GgufTensorInfo($"blk.{i}.ffn_up_exps.weight", [e, ff, Experts], GgmlType.F32), 0.04));
            generated.Add((new GgufTensorInfo($"blk.{i}.ffn_down_exps.weight", [ff, e, Experts], GgmlType.F32), 0.04));
            if (qwen2Moe)
            {
                generated.Add((new GgufTensorInfo($"blk.{i}.ffn_gate_inp_shexp.weight", [e], GgmlType.F32), 0.5));
                generated.Add((new GgufTensorInfo($"blk.{i}.ffn_gate_shexp.weight", [e, Qwen2SharedLength], GgmlType.F32), 0.04));
                generated.Add((new GgufTensorInfo($"blk.{i}.ffn_up_shexp.weight", [e, Qwen2SharedLength], GgmlType.F32), 0.04));
                generated.Add((new GgufTensorInfo($"blk.{i}.ffn_down_shexp.weight", [Qwen2SharedLength, e], GgmlType.F32), 0.04));
            }
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
