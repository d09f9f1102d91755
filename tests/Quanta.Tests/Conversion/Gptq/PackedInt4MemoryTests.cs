using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Conversion;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Safetensors;

namespace Quanta.Tests.Conversion.Gptq;

/// <summary>
/// Converting a GPTQ/AWQ checkpoint reads the packed layers through the memory mapping a chunk at a time: no layer's
/// qweight/qzeros/scales/g_idx is copied onto the heap, so memory does not grow with the checkpoint.
/// </summary>
public sealed class PackedInt4MemoryTests : IDisposable
{
    const int Hidden = 512;
    const int Heads = 4;
    const int Intermediate = 4096;
    const int GroupSize = 32;

    readonly string _root = Directory.CreateTempSubdirectory("quanta-gptq-mem-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static Action<Stream> Ints(int[] values) => s => s.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    static Action<Stream> Halves(ushort[] values) => s => s.Write(MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>A one-layer Llama whose linears are packed (random codes, zeros 8, small fp16 scales); returns the packed bytes.</summary>
    long Write(string directory, bool awq)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(awq ? 2 : 1);
        var quantization = awq
            ? new Dictionary<string, object> { ["quant_method"] = "awq", ["bits"] = 4, ["group_size"] = GroupSize, ["zero_point"] = true, ["version"] = "gemm" }
            : new Dictionary<string, object> { ["quant_method"] = "gptq", ["bits"] = 4, ["group_size"] = GroupSize, ["desc_act"] = false, ["checkpoint_format"] = "gptq" };
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "LlamaForCausalLM" },
            ["hidden_size"] = Hidden,
            ["intermediate_size"] = Intermediate,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = Heads,
            ["num_hidden_layers"] = 1,
            ["max_position_embeddings"] = 256,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["vocab_size"] = 32,
            ["torch_dtype"] = "float16",
            ["quantization_config"] = quantization,
        };
        File.WriteAllText(Path.Combine(directory, "config.json"), JsonSerializer.Serialize(config));
        ushort[] Floats(long n) => [.. Enumerable.Range(0, (int)n).Select(_ => Fp16.FromFloat((float)(random.NextDouble() - 0.5)))];
        var entries = new List<SafetensorsEntry>
        {
            new("model.embed_tokens.weight", "F16", [32, Hidden], Halves(Floats(32L * Hidden))),
            new("model.norm.weight", "F16", [Hidden], Halves(Floats(Hidden))),
            new("lm_head.weight", "F16", [32, Hidden], Halves(Floats(32L * Hidden))),
            new("model.layers.0.input_layernorm.weight", "F16", [Hidden], Halves(Floats(Hidden))),
            new("model.layers.0.post_attention_layernorm.weight", "F16", [Hidden], Halves(Floats(Hidden))),
        };
        long packedBytes = 0;
        (string Module, int Out, int In)[] linears =
        [
            ("self_attn.q_proj", Hidden, Hidden), ("self_attn.k_proj", Hidden, Hidden), ("self_attn.v_proj", Hidden, Hidden),
            ("self_attn.o_proj", Hidden, Hidden), ("mlp.gate_proj", Intermediate, Hidden), ("mlp.up_proj", Intermediate, Hidden),
            ("mlp.down_proj", Hidden, Intermediate),
        ];
        foreach (var (module, outFeatures, inFeatures) in linears)
        {
            var name = "model.layers.0." + module;
            var groups = inFeatures / GroupSize;
            var qweight = new int[inFeatures * outFeatures / 8];
            for (var i = 0; i < qweight.Length; i++)
            {
                qweight[i] = random.Next() ^ (random.Next() << 16);
            }
            // Zero 8 in every nibble: stored as 7 by GPTQ v1, as 8 by AWQ.
            var qzeros = Enumerable.Repeat(awq ? unchecked((int)0x88888888) : 0x77777777, groups * (outFeatures / 8)).ToArray();
            var scales = Enumerable.Range(0, groups * outFeatures).Select(_ => Fp16.FromFloat(random.Next(1, 64) / 4096f)).ToArray();
            entries.Add(new(name + ".qweight", "I32", awq ? [inFeatures, outFeatures / 8] : [inFeatures / 8, outFeatures], Ints(qweight)));
            entries.Add(new(name + ".qzeros", "I32", [groups, outFeatures / 8], Ints(qzeros)));
            entries.Add(new(name + ".scales", "F16", [groups, outFeatures], Halves(scales)));
            packedBytes += (qweight.Length + qzeros.Length) * 4L + (scales.Length * 2L);
            if (!awq)
            {
                var gIdx = Enumerable.Range(0, inFeatures).Select(i => i / GroupSize).ToArray();
                entries.Add(new(name + ".g_idx", "I32", [inFeatures], Ints(gIdx)));
                packedBytes += gIdx.Length * 4L;
            }
        }
        SafetensorsWriter.Write(Path.Combine(directory, "model.safetensors"), entries);
        return packedBytes;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reading_every_chunk_copies_no_packed_layer_onto_the_heap(bool awq)
    {
        var directory = Path.Combine(_root, awq ? "awq" : "gptq");
        var packedBytes = Write(directory, awq);
        using var model = ConvertedModel.Open(directory);
        var packed = model.Tensors.Where(t => t.Source is null && t.Info.Name.StartsWith("blk.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(7, packed.Length);

        // Chunks of 16 rows, as the pipeline cuts them, read on this thread so that its allocations can be counted.
        const int Rows = 16;
        var floats = new float[Rows * Intermediate];
        var blocks = new byte[Rows * (Intermediate / 32) * 18];
        // Warm up the process (type initializers, pools) on a plain tensor and the first packed row, then count.
        model.Tensors.First(t => t.Source is not null).ReadFloats(0, floats.AsSpan(0, Hidden));
        Assert.True(packed[0].TryReadEncoded(GgmlType.Q4_0, 0, 1, blocks));
        packed[0].ReadFloats(0, floats.AsSpan(0, Hidden));
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var tensor in packed)
        {
            // The layer (made on first use) and the lossless check, as the convert command runs them before quantizing.
            Assert.True(tensor.IsLossless(GgmlType.Q4_0, out var reason), reason);
            var rowLength = tensor.Info.RowLength;
            for (long row = 0; row < tensor.Info.RowCount; row += Rows)
            {
                Assert.True(tensor.TryReadEncoded(GgmlType.Q4_0, row, Rows, blocks));
                tensor.ReadFloats(row * rowLength, floats.AsSpan(0, (int)(Rows * rowLength)));
            }
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Copying a layer's arrays onto the heap would allocate at least the packed bytes; a view of the mapping, a few objects.
        Assert.True(packedBytes > 4_000_000, $"{packedBytes}");
        Assert.True(allocated < 16 * 1024, $"reading every chunk of {packedBytes} packed bytes allocated {allocated} bytes");
        Assert.All(packed, t => Assert.Equal(0, t.PackedLayer!.HeldBytes));
    }
}
