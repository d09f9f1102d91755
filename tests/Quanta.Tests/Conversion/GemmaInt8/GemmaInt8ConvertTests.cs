using System.Runtime.InteropServices;
using Quanta.Codecs;
using Quanta.Conversion;
using Quanta.Conversion.GemmaInt8;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.PyTorch;
using Quanta.Quantization;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Conversion.GemmaInt8;

public sealed class GemmaInt8ConvertTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("quanta-gemma-int8-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    string WriteCheckpoint(Func<int, float>? scalerOf = null)
    {
        var path = Path.Combine(_root, $"tiny-{Guid.NewGuid():N}.ckpt");
        File.WriteAllBytes(path, GemmaInt8Tests.TinyCheckpoint(scalerOf));
        return path;
    }

    /// <summary>What <c>quanta convert MODEL.ckpt --type T</c> does, for the tiny variant no --variant names.</summary>
    static string Convert(string checkpoint, string type)
    {
        var output = Path.ChangeExtension(checkpoint, $".{type}.gguf");
        using var model = GemmaInt8Conversion.Open(checkpoint, GemmaInt8Tests.Tiny);
        QuantizationJob job;
        if (type is "f32" or "q8_0")
        {
            var outType = type == "f32" ? ConverterOutputType.F32 : ConverterOutputType.Q8_0;
            var metadata = model.CreateMetadata((uint)ConverterTypeRules.FileTypeOf(outType));
            var plan = QuantizationPlan.FromDecisions(
                model.Tensors.Select(t => (t.Info, ConverterTypeRules.Choose(t.Info, t.Dimensions, outType))),
                ModelHyperparameters.FromMetadata(metadata),
                QuantizationPresets.Parse(outType.ToString()));
            job = QuantizationJob.Create(model.AsSource(metadata), plan, metadata, output);
        }
        else
        {
            job = QuantizationJob.Create(model.AsSource(model.CreateMetadata((uint)LlamaFileType.AllF32)), QuantizationPresets.Parse(type), output);
        }
        Quantizer.Run(job);
        return output;
    }

    [Fact]
    public void Q8_0_blocks_hold_the_int8_values_under_the_row_scaler()
    {
        var path = WriteCheckpoint();
        using var gguf = GgufFile.Open(Convert(path, "q8_0"));
        using var checkpoint = PyTorchCheckpoint.Open(path);
        var model = GemmaInt8Model.Open(checkpoint, GemmaInt8Tests.Tiny);
        Assert.Equal("gemma2", gguf.Metadata[GgufKeys.Architecture].AsString());
        Assert.Equal(64u, gguf.Metadata["gemma2.embedding_length"].AsUInt32());
        var codec = BlockCodecs.Get(GgmlType.Q8_0);
        foreach (var tensor in model.Tensors)
        {
            var written = gguf.FindTensor(tensor.Name)!;
            if (tensor.Matrix is not { } m)
            {
                Assert.Equal(GgmlType.F32, written.Type);
                continue;
            }
            Assert.Equal(GgmlType.Q8_0, written.Type);
            var decoded = new float[m.Rows * m.Columns];
            codec.Decode(written.Data, decoded);
            var expected = new float[decoded.Length];
            m.Dequantize(0, m.Rows, expected);
            Assert.Equal(MemoryMarshal.Cast<float, uint>(expected).ToArray(), MemoryMarshal.Cast<float, uint>(decoded).ToArray());
            var rowBytes = m.Columns / 32 * 34;
            var quants = new sbyte[m.Columns];
            for (var r = 0; r < m.Rows; r++)
            {
                Assert.True(GemmaInt8Rows.TryDecodeQ8_0(written.Data.Slice(r * rowBytes, rowBytes), quants, out var scaler));
                Assert.Equal(m.Scaler(r), scaler);
                Assert.True(m.Quants(r).SequenceEqual(quants));
            }
        }
    }

    [Fact]
    public void F32_is_int8_times_the_scaler_exactly()
    {
        var path = WriteCheckpoint();
        using var gguf = GgufFile.Open(Convert(path, "f32"));
        using var checkpoint = PyTorchCheckpoint.Open(path);
        var model = GemmaInt8Model.Open(checkpoint, GemmaInt8Tests.Tiny);
        foreach (var tensor in model.Tensors)
        {
            var written = gguf.FindTensor(tensor.Name)!;
            Assert.Equal(GgmlType.F32, written.Type);
            var expected = new float[tensor.Rows * tensor.RowLength];
            tensor.ReadFloat32(0, tensor.Rows, expected);
            Assert.Equal(MemoryMarshal.Cast<float, uint>(expected).ToArray(), MemoryMarshal.Cast<byte, uint>(written.Data).ToArray());
        }
    }

    [Fact]
    public void Q4_K_M_quantizes_through_float32()
    {
        var path = WriteCheckpoint();
        using var gguf = GgufFile.Open(Convert(path, "Q4_K_M"));
        Assert.Equal((uint)LlamaFileType.MostlyQ4_K_M, gguf.Metadata[GgufKeys.FileType].AsUInt32());
        Assert.Equal(GgmlType.F32, gguf.FindTensor("output_norm.weight")!.Type);
        Assert.Contains(gguf.Tensors, t => t.Type is GgmlType.Q4_K or GgmlType.Q5_0 or GgmlType.Q6_K or GgmlType.Q8_0);
    }

    [Fact]
    public void Rows_whose_scaler_has_no_fp16_form_fall_back_and_the_rest_stay_exact()
    {
        // Row 3 of every matrix gets a scaler below fp16's normal range.
        var path = WriteCheckpoint(r => r == 3 ? 1e-7f : 0.01f);
        using (var conversion = GemmaInt8Conversion.Open(path, GemmaInt8Tests.Tiny))
        {
            var (rows, tensors) = conversion.LossyRows(conversion.Tensors.Select(t => t.Info.Name));
            // Every quantized module has row 3 lossy; qkv_proj's is the Q band's row 3 only.
            Assert.Equal(1 + (2 * 5), tensors);
            Assert.Equal(tensors, rows);
        }
        using var gguf = GgufFile.Open(Convert(path, "q8_0"));
        using var checkpoint = PyTorchCheckpoint.Open(path);
        var model = GemmaInt8Model.Open(checkpoint, GemmaInt8Tests.Tiny);
        var down = model.Tensors.Single(t => t.Name == "blk.0.ffn_down.weight").Matrix!;
        var data = gguf.FindTensor("blk.0.ffn_down.weight")!.Data;
        var rowBytes = down.Columns / 32 * 34;
        var quants = new sbyte[down.Columns];
        Assert.True(GemmaInt8Rows.TryDecodeQ8_0(data[..rowBytes], quants, out _));
        Assert.True(down.Quants(0).SequenceEqual(quants));
        var fallback = new byte[rowBytes];
        var floats = new float[down.Columns];
        down.Dequantize(3, 1, floats);
        BlockCodecs.Get(GgmlType.Q8_0).Encode(floats, down.Columns, default, fallback);
        Assert.True(data.Slice(3 * rowBytes, rowBytes).SequenceEqual(fallback));
    }

    [Fact]
    public void Cli_refuses_an_unknown_variant()
    {
        var path = WriteCheckpoint();
        var result = CliRunner.Run(["convert", path, "--type", "q8_0", "--variant", "nope", "-o", Path.Combine(_root, "x.gguf")]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("unknown Gemma variant 'nope'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Cli_says_when_no_known_variant_matches()
    {
        var path = WriteCheckpoint();
        var result = CliRunner.Run(["convert", path, "--type", "q8_0", "-o", Path.Combine(_root, "x.gguf")]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--variant", result.Error, StringComparison.Ordinal);
    }
}
