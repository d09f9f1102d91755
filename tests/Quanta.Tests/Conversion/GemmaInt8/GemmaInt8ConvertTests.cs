using System.Runtime.InteropServices;
using Quanta.Codecs;
using Quanta.Conversion;
using Quanta.Conversion.GemmaInt8;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.PyTorch;
using Quanta.Formats.Safetensors;
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

    /// <summary>What <c>quanta convert MODEL.ckpt --type T</c> does (the CLI's jobs), for the tiny variant no --variant names.</summary>
    internal static string Convert(string checkpoint, string type)
    {
        var output = Path.ChangeExtension(checkpoint, $".{type}.gguf");
        using var model = GemmaInt8Conversion.Open(checkpoint, GemmaInt8Tests.Tiny);
        var converterType = CheckpointConversion.ParseConverterType(type, GemmaInt8Conversion.AutoType);
        var job = converterType is { } outType
            ? CheckpointConversion.CreateJob(model, outType, output)
            : CheckpointConversion.CreateJob(model, QuantizationPresets.Parse(type), output);
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
    public void Reports_see_the_int8_values_and_scalers_not_the_pipelines_float32()
    {
        var path = WriteCheckpoint();
        using var model = GemmaInt8Conversion.Open(path, GemmaInt8Tests.Tiny);
        using var checkpoint = PyTorchCheckpoint.Open(path);
        var down = model.Tensors.Single(t => t.Info.Name == "blk.1.ffn_down.weight");
        Assert.Equal("i8", down.StoredType);
        Assert.Equal(checkpoint["model.layers.1.mlp.down_proj.weight"].ByteSize + checkpoint["model.layers.1.mlp.down_proj.weight_scaler"].ByteSize, down.StoredBytes);
        var norm = model.Tensors.Single(t => t.Info.Name == "blk.0.attn_norm.weight");
        Assert.Equal("bf16", norm.StoredType);
        Assert.Equal(checkpoint["model.layers.0.input_layernorm.weight"].ByteSize, norm.StoredBytes);
    }

    [Fact]
    public void A_layer_whose_shape_disagrees_with_the_variant_is_refused_before_writing()
    {
        // Recognition looks at layer 0; llama.cpp's loader checks every layer, and so does the conversion.
        var path = Path.Combine(_root, "bad-layer-1.ckpt");
        File.WriteAllBytes(path, GemmaInt8Tests.TinyCheckpoint(columnsOf: (module, columns) => module == "model.layers.1.mlp.down_proj" ? 80 : columns));
        using var model = GemmaInt8Conversion.Open(path, GemmaInt8Tests.Tiny);
        var output = Path.Combine(_root, "bad.gguf");
        var e = Assert.Throws<ConversionException>(() => CheckpointConversion.CreateJob(model, ConverterOutputType.Q8_0, output));
        Assert.Equal("tensor 'blk.1.ffn_down.weight' has shape [80, 64], but gemma_pytorch variant tiny gives [96 (intermediate_size), 64 (hidden_size)] (row length first); llama.cpp would refuse the file",
            e.Message);
        Assert.Throws<ConversionException>(() => CheckpointConversion.CreateJob(model, QuantizationPresets.Parse("Q4_K_M"), output));
        Assert.False(File.Exists(output));
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

    [Fact]
    public void Export_of_the_q8_0_conversion_gives_back_the_int8_checkpoint()
    {
        var path = WriteCheckpoint();
        var gguf = Convert(path, "q8_0");
        var directory = Path.Combine(_root, "export");
        var result = CliRunner.Run(["export", "--format", "gemma-int8", gguf, "-o", directory]);
        Assert.True(result.ExitCode == 0, result.Error);
        using var exported = SafetensorsFile.Open(Path.Combine(directory, "model.safetensors"));
        using var original = PyTorchCheckpoint.Open(path);
        var expectedNames = original.Tensors.Select(t => t.Name).Where(n => n != "freqs_cis").Order(StringComparer.Ordinal);
        Assert.Equal(expectedNames, exported.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var tensor in original.Tensors.Where(t => t.Name.EndsWith(".weight_scaler", StringComparison.Ordinal)))
        {
            var module = tensor.Name[..^".weight_scaler".Length];
            var weight = exported.FindTensor(module + ".weight")!;
            var scaler = exported.FindTensor(module + ".weight_scaler")!;
            Assert.Equal(SafetensorsDType.I8, weight.Type);
            Assert.Equal(SafetensorsDType.BF16, scaler.Type);
            Assert.Equal(original[module + ".weight"].Shape, weight.Shape);
            Assert.True(original[module + ".weight"].Data.SequenceEqual(weight.Data), module);
            Assert.True(tensor.Data.SequenceEqual(scaler.Data), module + " scaler");
        }
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "config.json")));
        Assert.Equal("gemma_2", config.RootElement.GetProperty("architecture").GetString());
        Assert.True(config.RootElement.GetProperty("quant").GetBoolean());
    }

    [Fact]
    public void Export_of_a_float_gguf_quantizes_with_gemmas_rule()
    {
        var path = WriteCheckpoint();
        var gguf = Convert(path, "f32");
        var directory = Path.Combine(_root, "export-f32");
        var result = CliRunner.Run(["export", "--format", "gemma-int8", gguf, "-o", directory]);
        Assert.True(result.ExitCode == 0, result.Error);
        using var exported = SafetensorsFile.Open(Path.Combine(directory, "model.safetensors"));
        using var source = GgufFile.Open(gguf);
        var down = MemoryMarshal.Cast<byte, float>(source.FindTensor("blk.0.ffn_down.weight")!.Data);
        var columns = GemmaInt8Tests.Tiny.Intermediate;
        var quants = new sbyte[columns];
        var expectedScaler = GemmaInt8Rows.Quantize(down[..columns], quants);
        var weight = exported.FindTensor("model.layers.0.mlp.down_proj.weight")!;
        Assert.True(MemoryMarshal.AsBytes(quants.AsSpan()).SequenceEqual(weight.Data[..columns]));
        var scaler = exported.FindTensor("model.layers.0.mlp.down_proj.weight_scaler")!;
        Assert.Equal(BFloat16.FromFloat(expectedScaler), System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(scaler.Data));
    }

    [Fact]
    public void Export_refuses_a_model_that_is_not_gemma()
    {
        var path = WriteCheckpoint();
        var gguf = Convert(path, "f32");
        var bytes = File.ReadAllBytes(gguf);
        // Same length, other architecture: "gemma2" → "llama2" is not a Gemma name.
        var at = bytes.AsSpan().IndexOf("gemma2"u8);
        "llama2"u8.CopyTo(bytes.AsSpan(at));
        var renamed = Path.Combine(_root, "not-gemma.gguf");
        File.WriteAllBytes(renamed, bytes);
        var result = CliRunner.Run(["export", "--format", "gemma-int8", renamed, "-o", Path.Combine(_root, "nope")]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("is not Gemma", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenizer_model_beside_the_checkpoint_or_named_gives_the_tokenizer_keys()
    {
        // The Llama 2 SentencePiece fixture (32,000 pieces) stands in for Gemma's; the embedding has as many rows.
        var variant = GemmaInt8Tests.Tiny with { Vocab = 32000 };
        var directory = Path.Combine(_root, "with-tokenizer");
        Directory.CreateDirectory(directory);
        var checkpoint = Path.Combine(directory, "model.ckpt");
        File.WriteAllBytes(checkpoint, GemmaInt8Tests.TinyCheckpoint(variant: variant));
        var fixture = Path.Combine(Quanta.Tests.Conversion.Tokenizers.TokenizerFixtures.Root, "tokenizer.model");
        var named = Path.Combine(_root, "spiece.model");
        File.Copy(fixture, named);
        using (var without = GemmaInt8Conversion.Open(directory, variant))
        {
            Assert.Null(without.TokenizerKeys);
        }
        using (var explicitly = GemmaInt8Conversion.Open(checkpoint, variant, named))
        {
            var metadata = explicitly.CreateMetadata(7);
            Assert.Equal("llama", metadata["tokenizer.ggml.model"].AsString());
            Assert.Equal(32000, metadata["tokenizer.ggml.tokens"].AsArray().Count);
        }
        File.Copy(fixture, Path.Combine(directory, "tokenizer.model"));
        using var beside = GemmaInt8Conversion.Open(directory, variant);
        Assert.NotNull(beside.TokenizerKeys);
        Assert.True(GemmaInt8Conversion.IsCheckpoint(directory));
        Assert.True(GemmaInt8Conversion.IsCheckpoint(checkpoint));
        Assert.False(GemmaInt8Conversion.IsCheckpoint(fixture));
    }
}
