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
}

/// <summary>A model as a quantization sees it: metadata in order, tensors, and the files they come from.</summary>
public interface ITensorSource
{
    GgufMetadata Metadata { get; }

    IReadOnlyList<ISourceTensor> Tensors { get; }

    /// <summary>Files the tensors are read from; the output may never replace one of them.</summary>
    IReadOnlyList<string> FilePaths { get; }
}
