using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// One ggml block format: float32 rows in, ggml's exact bytes out, and back. Implementations are stateless,
/// thread-safe and allocate nothing per call, so the pipeline can run one instance on every worker.
/// </summary>
public interface IBlockCodec
{
    GgmlType Type { get; }

    /// <summary>False for formats Quanta can read but not yet write (IQ2_XXS ... needing an importance matrix).</summary>
    bool CanEncode { get; }

    /// <summary>
    /// Encodes whole rows, as <c>ggml_quantize_chunk</c> does. <paramref name="rows"/> holds
    /// <c>rows.Length / rowLength</c> rows; <paramref name="importance"/> is empty or holds
    /// <paramref name="rowLength"/> weights (the imatrix column), used where ggml uses them.
    /// <paramref name="destination"/> receives exactly the type's row size times the row count.
    /// </summary>
    void Encode(ReadOnlySpan<float> rows, int rowLength, ReadOnlySpan<float> importance, Span<byte> destination);

    /// <summary>Decodes whole blocks to float32, as ggml's <c>to_float</c> does, bit for bit.</summary>
    void Decode(ReadOnlySpan<byte> source, Span<float> destination);
}
