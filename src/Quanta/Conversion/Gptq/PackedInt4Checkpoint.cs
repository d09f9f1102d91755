using Quanta.Formats.Safetensors;

namespace Quanta.Conversion.Gptq;

/// <summary>
/// The <c>quantization_config</c> of a GPTQ or AWQ checkpoint (config.json, or the older
/// <c>quantize_config.json</c>), restricted to the layouts <see cref="PackedInt4Linear"/> reads: 4-bit GPTQ v1/v2
/// and 4-bit AWQ GEMM with zero points. Anything else is refused by name rather than converted into garbage.
/// </summary>
public sealed record PackedInt4Checkpoint(PackedInt4Format Format, int GroupSize, bool DescAct)
{
    /// <summary>Suffixes of the packed tensors of one linear layer (the layer's <c>bias</c> stays a plain tensor).</summary>
    public static readonly string[] PackedSuffixes = [".qweight", ".qzeros", ".scales", ".g_idx"];

    /// <summary>The checkpoint's quantization, null for a plain float checkpoint; <see cref="ConversionException"/> for one Quanta cannot read.</summary>
    public static PackedInt4Checkpoint? From(HfConfig config, string directory)
    {
        ArgumentNullException.ThrowIfNull(config);
        var q = config.Object("quantization_config");
        if (q is null)
        {
            var legacy = Path.Combine(directory, "quantize_config.json");
            if (!File.Exists(legacy))
            {
                return null;
            }
            q = HfConfig.Load(legacy);
        }
        // quantize_config.json predates quant_method; it is always GPTQ.
        var method = (q.String("quant_method") ?? "gptq").ToLowerInvariant();
        var bits = q.Integer("bits") ?? q.Integer("w_bit");
        var groupSize = (int)(q.Integer("group_size") ?? q.Integer("q_group_size") ?? -1);
        switch (method)
        {
            case "gptq":
            {
                RequireFourBits("GPTQ", bits, q.Path);
                var format = (q.String("checkpoint_format") ?? "gptq").ToLowerInvariant() switch
                {
                    "gptq" => PackedInt4Format.GptqV1,
                    "gptq_v2" => PackedInt4Format.GptqV2,
                    var other => throw new ConversionException($"{q.Path}: GPTQ checkpoint_format '{other}' is not supported; only 'gptq' (v1) and 'gptq_v2'"),
                };
                return new PackedInt4Checkpoint(format, groupSize, q.Get("desc_act") is { ValueKind: System.Text.Json.JsonValueKind.True });
            }
            case "awq":
            {
                RequireFourBits("AWQ", bits, q.Path);
                var version = (q.String("version") ?? "gemm").ToLowerInvariant();
                if (version != "gemm")
                {
                    throw new ConversionException($"{q.Path}: AWQ version '{version}' is not supported; only 'gemm'");
                }
                if (q.Get("zero_point") is { ValueKind: System.Text.Json.JsonValueKind.False })
                {
                    throw new ConversionException($"{q.Path}: AWQ without zero points is not supported");
                }
                return new PackedInt4Checkpoint(PackedInt4Format.AwqGemm, groupSize, false);
            }
            default:
                throw new ConversionException($"{q.Path}: quant_method '{method}' is not supported; Quanta reads 4-bit 'gptq' and 'awq' checkpoints");
        }
    }

    static void RequireFourBits(string method, long? bits, string path)
    {
        if (bits != 4)
        {
            throw new ConversionException($"{path}: {method} with {(bits is null ? "no 'bits'" : $"{bits} bits")} is not supported; only 4-bit");
        }
    }

    /// <summary>True when <paramref name="name"/> is one of the packed tensors of a layer.</summary>
    public static bool IsPacked(string name) => PackedSuffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal));

    /// <summary>
    /// The packed tensors of <paramref name="module"/> (<c>model.layers.0.self_attn.q_proj</c>) as a
    /// <see cref="PackedInt4Linear"/> over the checkpoint's memory mapping (nothing is copied; it reads the rows it
    /// is asked for), checking dtypes and shapes. Valid while <paramref name="checkpoint"/> is open.
    /// </summary>
    public PackedInt4Linear Load(SafetensorsCheckpoint checkpoint, string module)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        SafetensorsTensor Require(string suffix, SafetensorsDType type)
        {
            var t = checkpoint.FindTensor(module + suffix) ?? throw new ConversionException($"'{module}' has no '{suffix[1..]}'");
            return t.Type == type && t.Shape.Count is 1 or 2
                ? t
                : throw new ConversionException($"'{t.Name}' is {SafetensorsDTypes.Name(t.Type)} [{string.Join(", ", t.Shape)}]; expected {SafetensorsDTypes.Name(type)}");
        }
        var qweight = Require(".qweight", SafetensorsDType.I32);
        var qzeros = Require(".qzeros", SafetensorsDType.I32);
        var scales = Require(".scales", SafetensorsDType.F16);
        if (qweight.Shape.Count != 2 || scales.Shape.Count != 2)
        {
            throw new ConversionException($"'{module}': qweight and scales must be 2-D");
        }
        var outFeatures = checked((int)scales.Shape[1]);
        try
        {
            var inFeatures = checked(Format == PackedInt4Format.AwqGemm ? (int)qweight.Shape[0] : (int)qweight.Shape[0] * 8);
            var gIdx = Format == PackedInt4Format.AwqGemm ? null : checkpoint.FindTensor(module + ".g_idx");
            if (gIdx is not null && gIdx.Type != SafetensorsDType.I32)
            {
                throw new ConversionException($"'{gIdx.Name}' is {SafetensorsDTypes.Name(gIdx.Type)}; expected I32");
            }
            return PackedInt4Linear.Mapped(Format, qweight, qzeros, scales, gIdx, inFeatures, outFeatures, GroupSize);
        }
        catch (ArgumentException e)
        {
            throw new ConversionException($"'{module}': {e.Message}", e);
        }
    }
}
