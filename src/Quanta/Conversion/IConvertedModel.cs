using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Quantization;

namespace Quanta.Conversion;

/// <summary>
/// A checkpoint seen as the GGUF model the converter writes: a Hugging Face safetensors directory
/// (<see cref="ConvertedModel"/>) or a gemma_pytorch int8 file (<see cref="GemmaInt8.GemmaInt8Conversion"/>).
/// <see cref="CheckpointConversion"/>, <c>quanta convert</c> and <c>create FROM</c> a checkpoint work through this
/// one shape, so what one kind of checkpoint reports (a lossy layer, a missing tokenizer) reaches every command.
/// </summary>
public interface IConvertedModel : IDisposable
{
    /// <summary>The config the hyperparameters come from (config.json, or a gemma_pytorch variant's).</summary>
    HfConfig Config { get; }

    /// <summary>
    /// Every output tensor as the checkpoint stores it: GGUF name and shape, the checkpoint's own name for it, and its
    /// stored type and size (bf16, int4, i8 ...), which the pipeline's float32 rows hide.
    /// </summary>
    IEnumerable<StoredTensor> StoredTensors { get; }

    /// <summary>The Hugging Face architecture whose adapter writes the metadata (<c>LlamaForCausalLM</c> ...).</summary>
    string HfArchitecture { get; }

    /// <summary>The <c>tokenizer.*</c> keys, or null when none could be read (the output then has none).</summary>
    IReadOnlyList<KeyValuePair<string, GgufValue>>? TokenizerKeys { get; }

    /// <summary>Where <c>quanta convert</c> writes when no output is named: beside the checkpoint.</summary>
    string OutputDirectory { get; }

    /// <summary>What <c>--type auto</c> means for this checkpoint: the output type that holds its weights as they are.</summary>
    ConverterOutputType AutoOutputType { get; }

    /// <summary>The metadata the converter writes for <paramref name="fileType"/> (<c>general.file_type</c>), in its order.</summary>
    GgufMetadata CreateMetadata(uint fileType);

    /// <summary>Every tensor with the type the converter's own output type <paramref name="type"/> gives it, and why.</summary>
    IEnumerable<(GgufTensorInfo Info, TensorTypeDecision Decision)> ConverterDecisions(ConverterOutputType type);

    /// <summary>The tensors as the pipeline reads them for one of the converter's own output types.</summary>
    ITensorSource AsSource(GgufMetadata metadata);

    /// <summary>
    /// The tensors as the pipeline reads them for a quantize preset: exactly what the f32 conversion would hold,
    /// so the bytes are those of converting to f32 and then quantizing.
    /// </summary>
    ITensorSource AsPresetSource(GgufMetadata metadata);

    /// <summary>
    /// What <paramref name="job"/> loses or leaves out, one warning a line without a prefix: layers or rows that
    /// could not keep their stored values, tensors not converted.
    /// </summary>
    IReadOnlyList<string> Warnings(QuantizationJob job);
}

/// <summary>A tensor of a checkpoint: GGUF name and shape (row length first), the checkpoint's name for it, stored type and bytes.</summary>
public readonly record struct StoredTensor(string Name, IReadOnlyList<long> Shape, string? CheckpointName, string Type, long Bytes);
