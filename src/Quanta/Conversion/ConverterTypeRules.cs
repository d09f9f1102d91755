using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;

namespace Quanta.Conversion;

/// <summary>The output types <c>convert_hf_to_gguf.py --outtype</c> offers (besides the TQ ternary ones).</summary>
public enum ConverterOutputType
{
    F32,
    F16,
    BF16,
    Q8_0,
}

/// <summary>
/// Which type each tensor gets in the converter's own output types (<c>Model.prepare_tensors</c>): 1-D
/// tensors, norms, routers and biases stay float32; the rest take the output type, and a row that Q8_0's
/// 32-element blocks do not divide falls back to F16, as gguf-py's <c>QuantError</c> handler does.
/// </summary>
public static class ConverterTypeRules
{
    // MODEL_TENSOR names the converter always keeps in float32 (FFN_GATE_INP, POS_EMBD, TOKEN_TYPES,
    // SSM_CONV1D, the RWKV time-mix/shift tensors, and the WavTokenizer posnet norms).
    static readonly string[] AlwaysF32 =
    [
        "ffn_gate_inp", "position_embd", "token_types", "ssm_conv1d", "time_mix_first", "time_mix_w1", "time_mix_w2",
        "time_mix_decay_w1", "time_mix_decay_w2", "time_mix_lerp_fused",
    ];

    public static GgmlType GgmlTypeOf(ConverterOutputType type) => type switch
    {
        ConverterOutputType.F32 => GgmlType.F32,
        ConverterOutputType.F16 => GgmlType.F16,
        ConverterOutputType.BF16 => GgmlType.BF16,
        ConverterOutputType.Q8_0 => GgmlType.Q8_0,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary><c>general.file_type</c> for the output type (llama_ftype: ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q8_0).</summary>
    public static LlamaFileType FileTypeOf(ConverterOutputType type) => type switch
    {
        ConverterOutputType.F32 => LlamaFileType.AllF32,
        ConverterOutputType.F16 => LlamaFileType.MostlyF16,
        ConverterOutputType.BF16 => LlamaFileType.MostlyBF16,
        ConverterOutputType.Q8_0 => LlamaFileType.MostlyQ8_0,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The type and the reason for one tensor.</summary>
    public static TensorTypeDecision Choose(ConvertedTensor tensor, ConverterOutputType outputType)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        // A type the converter forces (image tensors) applies to every tensor but 1-D ones and norms.
        if (tensor.Mapping.ForcedType is { } forced && !IsNormOrVector(tensor.Info.Name, tensor.Dimensions))
        {
            return tensor.Mapping.ForcedUnlessF32 && outputType == ConverterOutputType.F32
                ? new(GgmlType.F32, TensorTypeReason.UnquantizedPreset, "--outtype f32")
                : new(forced, TensorTypeReason.NotQuantizable, $"converter keeps it {GgmlTypeInfo.Of(forced).Name}");
        }
        return Choose(tensor.Info, tensor.Dimensions, outputType);
    }

    static bool IsNormOrVector(string name, int dimensions) =>
        dimensions <= 1 || name.EndsWith("_norm.weight", StringComparison.Ordinal);

    /// <summary>The same rule for any tensor (gemma int8 checkpoints): GGUF name and shape, and PyTorch's <c>n_dims</c>.</summary>
    public static TensorTypeDecision Choose(Quanta.Formats.Gguf.GgufTensorInfo info, int dimensions, ConverterOutputType outputType)
    {
        ArgumentNullException.ThrowIfNull(info);
        var name = info.Name;
        if (IsNormOrVector(name, dimensions))
        {
            return new(GgmlType.F32, TensorTypeReason.NotQuantizable, "1-D or norm: float32");
        }
        if (!name.EndsWith(".weight", StringComparison.Ordinal))
        {
            return new(GgmlType.F32, TensorTypeReason.NotQuantizable, "not a weight: float32");
        }
        var kind = TensorKind(name);
        if (Array.IndexOf(AlwaysF32, kind) >= 0 || kind.StartsWith("posnet", StringComparison.Ordinal) && kind.EndsWith("norm", StringComparison.Ordinal))
        {
            return new(GgmlType.F32, TensorTypeReason.NotQuantizable, $"{kind}: float32");
        }
        var type = GgmlTypeOf(outputType);
        var block = GgmlTypeInfo.Of(type).BlockElements;
        if (info.RowLength % block != 0)
        {
            return new(GgmlType.F16, TensorTypeReason.UnquantizedPreset, $"row length {info.RowLength} does not fit {GgmlTypeInfo.Of(type).Name}, F16 as gguf-py falls back", type);
        }
        return new(type, TensorTypeReason.UnquantizedPreset, $"--outtype {outputType.ToString().ToLowerInvariant()}");
    }

    /// <summary><c>blk.3.ffn_gate_inp.weight</c> → <c>ffn_gate_inp</c>.</summary>
    static string TensorKind(string name)
    {
        var stem = name[..name.LastIndexOf('.')];
        if (stem.StartsWith("blk.", StringComparison.Ordinal))
        {
            var dot = stem.IndexOf('.', 4);
            stem = dot < 0 ? stem : stem[(dot + 1)..];
        }
        return stem;
    }
}
