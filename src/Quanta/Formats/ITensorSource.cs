using Quanta.Formats.Gguf;

namespace Quanta.Formats;

/// <summary>
/// One tensor a quantization reads: its GGUF name, shape (row length first) and element type, and its bytes
/// in that type. A GGUF file's tensors are one kind; a Hugging Face checkpoint seen through an architecture
/// adapter (renamed, permuted, converted to float32 on the fly) is another, which is what lets
/// <c>quanta convert</c> run the same plan and pipeline as <c>quanta quantize</c> without an intermediate file.
/// </summary>
public interface ISourceTensor
{
    /// <summary>Name, shape and type as a GGUF header would hold them (the offset is meaningless here).</summary>
    GgufTensorInfo Info { get; }

    /// <summary>Which input file holds the bytes (0 for the first): <c>--keep-split</c> groups by it.</summary>
    int ShardIndex { get; }

    /// <summary>Where the bytes start within that file: <c>--keep-split</c> orders by it.</summary>
    long FileOffset { get; }

    /// <summary>
    /// Copies <paramref name="destination"/>.Length bytes of the tensor, in <see cref="Info"/>'s type, starting
    /// <paramref name="start"/> bytes in. Thread-safe: workers read different parts of a tensor at once.
    /// </summary>
    void Read(long start, Span<byte> destination);

    /// <summary>
    /// Writes <paramref name="rowCount"/> rows from <paramref name="firstRow"/> already encoded as
    /// <paramref name="type"/>, when the tensor holds them in that form without loss (a gemma int8 matrix as Q8_0,
    /// a GPTQ layer as Q4_0); false to let the pipeline encode the float32 rows as usual. Sources that return true
    /// decide the output bytes themselves, which is why plain GGUF and safetensors tensors never do: their
    /// quantization must stay byte-identical to llama-quantize. Thread-safe like <see cref="Read"/>.
    /// </summary>
    bool TryReadEncoded(GgmlType type, long firstRow, long rowCount, Span<byte> destination) => false;
}

/// <summary>A model as a quantization sees it: metadata in order, tensors, and the files they come from.</summary>
public interface ITensorSource
{
    GgufMetadata Metadata { get; }

    IReadOnlyList<ISourceTensor> Tensors { get; }

    /// <summary>Files the tensors are read from; the output may never replace one of them.</summary>
    IReadOnlyList<string> FilePaths { get; }
}
