namespace Quanta.Quantization;

/// <summary>Why a tensor gets the type a plan gives it (before any row-length fallback).</summary>
public enum TensorTypeReason
{
    /// <summary>Not a tensor llama.cpp quantizes (1-D, a norm, a router, on the skip list, --leave-output-tensor): kept as it is.</summary>
    NotQuantizable,

    /// <summary>The COPY preset: every tensor is kept as it is.</summary>
    CopyOnly,

    /// <summary>An F32/F16/BF16 preset: its type, with no mix rules.</summary>
    UnquantizedPreset,

    /// <summary>The preset's default type; no mix rule changed it.</summary>
    PresetDefault,

    /// <summary>A mix rule of the preset chose another type (more bits for attn_v, output, ...).</summary>
    PresetRule,

    /// <summary><c>--pure</c>: the preset's default type, mix rules skipped.</summary>
    Pure,

    /// <summary>A <c>--tensor-type</c> pattern matched.</summary>
    TensorTypeOverride,

    /// <summary><c>--output-tensor-type</c> (also for tied token embeddings, which double as the output).</summary>
    OutputTensorType,

    /// <summary><c>--token-embedding-type</c>.</summary>
    TokenEmbeddingType,

    /// <summary>A vision tower tensor (<c>v.*</c>) in a single-file multimodal model, kept without <c>--vision-type</c>.</summary>
    VisionTensorKept,

    /// <summary>A projector tensor (<c>mm.*</c>) in a single-file multimodal model, kept without <c>--projector-type</c>.</summary>
    ProjectorTensorKept,

    /// <summary><c>--vision-type</c>.</summary>
    VisionType,

    /// <summary><c>--projector-type</c>.</summary>
    ProjectorType,
}

/// <summary>Questions about <see cref="TensorTypeReason"/> values.</summary>
public static class TensorTypeReasons
{
    /// <summary>The tensor is written as it is because no rule quantizes it (not because its type happens to be the target).</summary>
    public static bool IsKept(this TensorTypeReason reason) => reason is TensorTypeReason.NotQuantizable
        or TensorTypeReason.CopyOnly or TensorTypeReason.VisionTensorKept or TensorTypeReason.ProjectorTensorKept;
}
