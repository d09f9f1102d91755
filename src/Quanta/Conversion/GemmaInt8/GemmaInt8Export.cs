using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Safetensors;

namespace Quanta.Conversion.GemmaInt8;

/// <summary>Reads <paramref name="count"/> float32 rows starting at <paramref name="firstRow"/> into <paramref name="destination"/>.</summary>
public delegate void RowReader(int firstRow, int count, Span<float> destination);

/// <summary>
/// The int8 values and scaler of row <paramref name="row"/> when the source already holds the row in gemma's form
/// (a Q8_0 row whose blocks share one bf16-exact scale); false to quantize the float32 row instead.
/// </summary>
public delegate bool ExactRowReader(int row, Span<sbyte> quants, out float scaler);

/// <summary>A tensor of an export: a matrix to quantize per row, or a tensor kept as bf16.</summary>
public abstract record GemmaInt8ExportTensor(string Name);

/// <summary>A matrix written as <c>{Module}.weight</c> (I8, [rows, columns]) and <c>{Module}.weight_scaler</c> (BF16, [rows]).</summary>
/// <remarks><paramref name="ReadExact"/>, when given, is asked first for each row, so int8 → Q8_0 → int8 is the identity.</remarks>
public sealed record GemmaInt8QuantizedExport(string Module, int Rows, int Columns, RowReader ReadRows, ExactRowReader? ReadExact = null) : GemmaInt8ExportTensor(Module);

/// <summary>A tensor written unquantized as BF16 (norm weights, in gemma_pytorch's convention: without GGUF's +1).</summary>
public sealed record GemmaInt8PlainExport(string TensorName, long[] Shape, float[] Values) : GemmaInt8ExportTensor(TensorName);

/// <summary>
/// Writes a gemma_pytorch-style int8 checkpoint as safetensors: each matrix as int8 <c>weight</c> plus a bf16
/// per-row <c>weight_scaler</c>, quantized with gemma_pytorch's own rule (<see cref="GemmaInt8Rows.Quantize"/>), so
/// loaders written for gemma_pytorch's <c>quant</c> layout read it. Rows stream through twice (scalers come first
/// in safetensors' data order, BF16 sorting before I8), so memory stays at one row.
/// </summary>
public static class GemmaInt8Export
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IEnumerable<GemmaInt8ExportTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsWriter.Write(path, Entries(tensors), metadata);

    /// <summary>Writes to a stream (tests).</summary>
    public static void Write(Stream stream, IEnumerable<GemmaInt8ExportTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsWriter.Write(stream, Entries(tensors), metadata);

    static IEnumerable<SafetensorsEntry> Entries(IEnumerable<GemmaInt8ExportTensor> tensors)
    {
        foreach (var tensor in tensors)
        {
            switch (tensor)
            {
                case GemmaInt8QuantizedExport q:
                    yield return new SafetensorsEntry(q.Module + ".weight_scaler", "BF16", [q.Rows], s => WriteScalers(q, s));
                    yield return new SafetensorsEntry(q.Module + ".weight", "I8", [q.Rows, q.Columns], s => WriteQuants(q, s));
                    break;
                case GemmaInt8PlainExport p:
                    yield return new SafetensorsEntry(p.TensorName, "BF16", p.Shape, s => WriteBf16(p.Values, s));
                    break;
                default:
                    throw new ArgumentException($"unknown export tensor {tensor.GetType().Name}", nameof(tensors));
            }
        }
    }

    static void WriteScalers(GemmaInt8QuantizedExport q, Stream stream)
    {
        var row = new float[q.Columns];
        var quants = new sbyte[q.Columns];
        Span<byte> bf16 = stackalloc byte[2];
        for (var r = 0; r < q.Rows; r++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bf16, TorchBFloat16(QuantizeRow(q, r, row, quants)));
            stream.Write(bf16);
        }
    }

    static void WriteQuants(GemmaInt8QuantizedExport q, Stream stream)
    {
        var row = new float[q.Columns];
        var quants = new sbyte[q.Columns];
        for (var r = 0; r < q.Rows; r++)
        {
            QuantizeRow(q, r, row, quants);
            stream.Write(MemoryMarshal.AsBytes(quants.AsSpan()));
        }
    }

    /// <summary>One row as int8 and its scaler: the source's own when it has them exactly, else gemma_pytorch's rule.</summary>
    static float QuantizeRow(GemmaInt8QuantizedExport q, int r, float[] row, sbyte[] quants)
    {
        if (q.ReadExact is { } exact && exact(r, quants, out var scaler))
        {
            return scaler;
        }
        q.ReadRows(r, 1, row);
        return GemmaInt8Rows.Quantize(row, quants);
    }

    static void WriteBf16(float[] values, Stream stream)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), TorchBFloat16(values[i]));
        }
        stream.Write(bytes);
    }

    /// <summary>float32 → bf16 as <c>Tensor.to(torch.bfloat16)</c> rounds: to nearest even (finite values; NaN stays NaN).</summary>
    internal static ushort TorchBFloat16(float value) => BFloat16.FromFloat(value);
}
