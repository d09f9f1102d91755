using Quanta.Formats;

namespace Quanta.Conversion;

/// <summary>
/// What an architecture does with one checkpoint tensor: its GGUF name and the transforms llama.cpp's
/// converter applies on the way.
/// </summary>
/// <param name="GgufName">The name in the GGUF file, e.g. <c>blk.0.attn_q.weight</c>.</param>
/// <param name="PermuteHeads">
/// Llama's Q/K row permutation with this many heads (<c>LlamaModel.permute</c>): HF stores each head's rotary
/// halves one after the other, ggml's NORM rope wants them interleaved.
/// </param>
/// <param name="AddOne">Gemma's norms store w − 1 (the model computes x · (1 + w)); GGUF stores w + 1.</param>
/// <param name="KeepRows">Keep only the first rows (Gemma 3 drops embedding rows beyond the vocabulary).</param>
/// <param name="ForcedType">
/// The type the converter writes this tensor in whatever <c>--outtype</c> says (its <c>tensor_force_quant</c>,
/// e.g. Gemma 3's projection in F16); 1-D tensors and norms stay float32 regardless.
/// </param>
/// <param name="ForcedUnlessF32">The forced type gives way to float32 when the output type is f32.</param>
public sealed record TensorMapping(
    string GgufName, int? PermuteHeads = null, bool AddOne = false, long? KeepRows = null, GgmlType? ForcedType = null, bool ForcedUnlessF32 = false);
