using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Quanta.Codecs;
using Quanta.Conversion.GemmaInt8;
using Quanta.Formats;
using Quanta.Formats.PyTorch;
using Quanta.Tests.Formats.PyTorch;

namespace Quanta.Tests.Conversion.GemmaInt8;

public class GemmaInt8Tests
{
    // A tiny Gemma 2 shaped like gemma_pytorch's int8 checkpoints: 2 layers, 2 query heads, 1 KV head.
    internal static readonly GemmaVariant Tiny = new("tiny", GemmaGeneration.Gemma2, 2, 2, 1, 64, 96, 32, 40);

    internal static byte[] TinyCheckpoint(Func<int, float>? scalerOf = null, GemmaVariant? variant = null, Func<string, int, int>? columnsOf = null)
    {
        var tiny = variant ?? Tiny;
        var random = new Random(7);
        var builder = new TorchZipBuilder();
        void Matrix(string module, int rows, int columns)
        {
            columns = columnsOf?.Invoke(module, columns) ?? columns;
            var q = new byte[rows * columns];
            random.NextBytes(q);
            var s = new byte[rows * 2];
            for (var r = 0; r < rows; r++)
            {
                var scaler = scalerOf?.Invoke(r) ?? (float)(random.NextDouble() * 0.02 + 1e-3);
                BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(r * 2), BFloat16.FromFloat(scaler));
            }
            builder.Add(module + ".weight", PyTorchDType.Int8, [rows, columns], q);
            builder.Add(module + ".weight_scaler", PyTorchDType.BFloat16, [rows], s);
        }
        void Norm(string name, int length)
        {
            var n = new byte[length * 2];
            for (var i = 0; i < length; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(n.AsSpan(i * 2), BFloat16.FromFloat((float)(random.NextDouble() - 0.5)));
            }
            builder.Add(name, PyTorchDType.BFloat16, [length], n);
        }
        Matrix("embedder", tiny.Vocab, tiny.Hidden);
        for (var i = 0; i < tiny.Layers; i++)
        {
            var p = $"model.layers.{i}.";
            Matrix(p + "self_attn.qkv_proj", tiny.QkvRows, tiny.Hidden);
            Matrix(p + "self_attn.o_proj", tiny.Hidden, tiny.Heads * tiny.HeadDim);
            Matrix(p + "mlp.gate_proj", tiny.Intermediate, tiny.Hidden);
            Matrix(p + "mlp.up_proj", tiny.Intermediate, tiny.Hidden);
            Matrix(p + "mlp.down_proj", tiny.Hidden, tiny.Intermediate);
            Norm(p + "input_layernorm.weight", tiny.Hidden);
            Norm(p + "post_attention_layernorm.weight", tiny.Hidden);
            Norm(p + "pre_feedforward_layernorm.weight", tiny.Hidden);
            Norm(p + "post_feedforward_layernorm.weight", tiny.Hidden);
        }
        Norm("model.norm.weight", tiny.Hidden);
        builder.Add("freqs_cis", PyTorchDType.Complex64, [4, 2], new byte[64]);
        return builder.Build();
    }

    [Fact]
    public void Maps_the_state_dict_to_gguf_names_splitting_qkv()
    {
        using var checkpoint = PyTorchCheckpoint.FromBytes(TinyCheckpoint(), "tiny.ckpt");
        var model = GemmaInt8Model.Open(checkpoint, Tiny);
        Assert.Equal("gemma2", model.Architecture);
        Assert.Empty(model.Unmapped);
        var names = model.Tensors.Select(t => t.Name).ToList();
        Assert.Equal(1 + (2 * 11) + 1, names.Count);
        Assert.Contains("blk.1.post_ffw_norm.weight", names);
        var q = model.Tensors.Single(t => t.Name == "blk.0.attn_q.weight");
        var k = model.Tensors.Single(t => t.Name == "blk.0.attn_k.weight");
        var v = model.Tensors.Single(t => t.Name == "blk.0.attn_v.weight");
        Assert.Equal([64L, 64], q.Shape);
        Assert.Equal([64L, 32], k.Shape);
        Assert.Equal([64L, 32], v.Shape);
        var qkv = GemmaInt8Matrix.Open(checkpoint, "model.layers.0.self_attn.qkv_proj");
        Assert.True(qkv.Quants(64 + 32 + 5).SequenceEqual(v.Matrix!.Quants(5)));
        Assert.Equal(qkv.Scaler(64 + 3), k.Matrix!.Scaler(3));
    }

    [Fact]
    public void Dequantizes_as_int8_times_the_row_scaler()
    {
        using var checkpoint = PyTorchCheckpoint.FromBytes(TinyCheckpoint());
        var model = GemmaInt8Model.Open(checkpoint, Tiny);
        var down = model.Tensors.Single(t => t.Name == "blk.1.ffn_down.weight");
        var floats = new float[down.Rows * down.RowLength];
        down.ReadFloat32(0, down.Rows, floats);
        var weight = checkpoint["model.layers.1.mlp.down_proj.weight"].Data;
        var scalers = checkpoint["model.layers.1.mlp.down_proj.weight_scaler"].Data;
        for (var r = 0; r < down.Rows; r++)
        {
            var scaler = BFloat16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(scalers[(r * 2)..]));
            for (var c = 0; c < down.RowLength; c++)
            {
                Assert.Equal((sbyte)weight[(r * down.RowLength) + c] * scaler, floats[(r * down.RowLength) + c]);
            }
        }
    }

    [Fact]
    public void Norms_get_one_added_in_their_own_dtype()
    {
        using var checkpoint = PyTorchCheckpoint.FromBytes(TinyCheckpoint());
        var model = GemmaInt8Model.Open(checkpoint, Tiny);
        var norm = model.Tensors.Single(t => t.Name == "output_norm.weight");
        var values = new float[norm.RowLength];
        norm.ReadFloat32(0, 1, values);
        var raw = checkpoint["model.norm.weight"].Data;
        for (var i = 0; i < values.Length; i++)
        {
            var w = BFloat16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]));
            Assert.Equal(BFloat16.ToFloat(BFloat16.FromFloat(w + 1)), values[i]);
        }
    }

    [Fact]
    public void Int8_to_q8_0_is_lossless_and_back_to_int8_is_the_identity()
    {
        using var checkpoint = PyTorchCheckpoint.FromBytes(TinyCheckpoint());
        var model = GemmaInt8Model.Open(checkpoint, Tiny);
        var codec = BlockCodecs.Get(GgmlType.Q8_0);
        foreach (var tensor in model.Tensors.Where(t => t.Matrix is not null))
        {
            var m = tensor.Matrix!;
            Assert.True(m.IsLosslessQ8_0(out var reason), reason);
            var rowBytes = m.Columns / 32 * 34;
            var blocks = new byte[m.Rows * rowBytes];
            m.EncodeQ8_0(0, m.Rows, blocks);
            var decoded = new float[m.Rows * m.Columns];
            codec.Decode(blocks, decoded);
            var expected = new float[decoded.Length];
            m.Dequantize(0, m.Rows, expected);
            Assert.Equal(MemoryMarshal.Cast<float, uint>(expected).ToArray(), MemoryMarshal.Cast<float, uint>(decoded).ToArray());
            var quants = new sbyte[m.Columns];
            for (var r = 0; r < m.Rows; r++)
            {
                Assert.True(GemmaInt8Rows.TryDecodeQ8_0(blocks.AsSpan(r * rowBytes, rowBytes), quants, out var scaler));
                Assert.True(quants.AsSpan().SequenceEqual(m.Quants(r)));
                Assert.Equal(m.Scaler(r), scaler);
            }
        }
    }

    [Fact]
    public void Scalers_below_fp16_normal_range_fall_back_with_a_reason()
    {
        using var checkpoint = PyTorchCheckpoint.FromBytes(TinyCheckpoint(r => r == 3 ? 1.2345e-6f : 0.01f));
        var model = GemmaInt8Model.Open(checkpoint, Tiny);
        var embedding = model.Tensors[0].Matrix!;
        Assert.False(embedding.IsLosslessQ8_0(out var reason));
        Assert.Contains("row 3", reason, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => embedding.EncodeQ8_0(0, embedding.Rows, new byte[embedding.Rows * 68]));
    }

    [Fact]
    public void Variant_must_match_the_shapes()
    {
        using var checkpoint = PyTorchCheckpoint.FromBytes(TinyCheckpoint());
        var unknown = Assert.Throws<PyTorchFormatException>(() => GemmaInt8Model.Open(checkpoint));
        Assert.Contains("--variant", unknown.Message, StringComparison.Ordinal);
        var wrong = Assert.Throws<PyTorchFormatException>(() => GemmaInt8Model.Open(checkpoint, GemmaVariant.Find("9b")));
        Assert.Contains("hidden size is 64, expected 3584", wrong.Message, StringComparison.Ordinal);
        Assert.Equal("27b_v3", GemmaVariant.Find("27B-V3")!.Name);
        Assert.Equal(2048, GemmaVariant.Find("2b")!.Hidden);
    }

    [Fact]
    public void Quantizer_follows_gemma_pytorch_rounding()
    {
        // absmax 127.5 gives scale 1: 127.5 rounds (half to even) to 128 and clamps to 127; -127.5 gives -128.
        float[] row = [127.5f, -127.5f, 2.5f, 3.5f, -2.5f, 0.4999f, 0f, 1.5f];
        var q = new sbyte[row.Length];
        Assert.Equal(1f, GemmaInt8Rows.Quantize(row, q));
        Assert.Equal(new sbyte[] { 127, -128, 2, 4, -2, 0, 0, 2 }, q);
        // An all-zero row gets FLT_EPSILON, not zero.
        Assert.Equal(1.1920929e-07f, GemmaInt8Rows.Quantize(new float[4], new sbyte[4]));
    }

    [Fact]
    public void Export_writes_int8_weights_and_bf16_scalers_per_row()
    {
        var random = new Random(3);
        var rows = 5;
        var columns = 64;
        var source = new float[rows * columns];
        for (var i = 0; i < source.Length; i++)
        {
            source[i] = (float)(random.NextDouble() - 0.5);
        }
        using var stream = new MemoryStream();
        GemmaInt8Export.Write(stream, [
            new GemmaInt8QuantizedExport("model.layers.0.mlp.up_proj", rows, columns, (first, count, dst) => source.AsSpan(first * columns, count * columns).CopyTo(dst)),
            new GemmaInt8PlainExport("model.norm.weight", [2], [0.5f, -0.25f]),
        ]);
        var file = stream.ToArray();
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, headerLength % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(file, 8, headerLength));
        var names = header.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["model.layers.0.mlp.up_proj.weight_scaler", "model.norm.weight", "model.layers.0.mlp.up_proj.weight"], names);
        ReadOnlySpan<byte> Tensor(string name)
        {
            var offsets = header.RootElement.GetProperty(name).GetProperty("data_offsets");
            var begin = offsets[0].GetInt32();
            return file.AsSpan(8 + headerLength + begin, offsets[1].GetInt32() - begin);
        }
        Assert.Equal("I8", header.RootElement.GetProperty("model.layers.0.mlp.up_proj.weight").GetProperty("dtype").GetString());
        var weight = Tensor("model.layers.0.mlp.up_proj.weight");
        var scalers = Tensor("model.layers.0.mlp.up_proj.weight_scaler");
        var q = new sbyte[columns];
        for (var r = 0; r < rows; r++)
        {
            var scale = GemmaInt8Rows.Quantize(source.AsSpan(r * columns, columns), q);
            Assert.Equal(BFloat16.FromFloat(scale), BinaryPrimitives.ReadUInt16LittleEndian(scalers[(r * 2)..]));
            Assert.True(MemoryMarshal.Cast<byte, sbyte>(weight.Slice(r * columns, columns)).SequenceEqual(q));
            var absmax = source.AsSpan(r * columns, columns).ToArray().Max(MathF.Abs);
            Assert.Equal(absmax / 127.5f, scale);
        }
        Assert.Equal(BFloat16.FromFloat(-0.25f), BinaryPrimitives.ReadUInt16LittleEndian(Tensor("model.norm.weight")[2..]));
    }
}
