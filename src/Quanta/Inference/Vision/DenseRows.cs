using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Vision;

/// <summary>
/// A weight matrix held in memory rather than read in place, for the two products ggml takes on a reshaped or
/// transposed tensor: the patch convolution (<c>ggml_conv_2d</c> = <c>im2col</c> then <c>mul_mat</c> on the kernel
/// seen as <c>[3·p², width]</c>) and Gemma 3's input projection (<c>ggml_cont(ggml_transpose(W))</c>). Each row is
/// dotted with activations converted to the row type's <c>vec_dot_type</c>, as ggml does.
/// </summary>
internal sealed class DenseRows
{
    readonly byte[] _data;
    readonly IVecDot _dot;

    DenseRows(byte[] data, GgmlType type, int columns, int rows)
    {
        if (!VecDots.TryGet(type, out var dot))
        {
            throw new GgufFormatException($"a {GgmlTypeInfo.Of(type).Name} matrix cannot be multiplied by the vision tower");
        }
        _data = data;
        _dot = dot;
        Type = type;
        Columns = columns;
        Rows = rows;
        RowBytes = checked((int)GgmlTypeInfo.Of(type).RowBytes(columns));
    }

    public GgmlType Type { get; }

    public int Columns { get; }

    public int Rows { get; }

    public int RowBytes { get; }

    /// <summary>The tensor's bytes seen as <paramref name="rows"/> rows of <paramref name="columns"/>.</summary>
    public static DenseRows FromTensor(GgufTensor tensor, int columns, int rows)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Info.ElementCount != (long)columns * rows || tensor.Shape[0] > columns || columns % tensor.Shape[0] != 0)
        {
            throw new GgufFormatException($"{tensor.FilePath}: '{tensor.Name}' [{string.Join(", ", tensor.Shape)}] is not a {columns} × {rows} matrix");
        }
        return new DenseRows(tensor.Data.ToArray(), tensor.Type, columns, rows);
    }

    /// <summary>The transpose of a 2-D F32/F16/BF16 tensor, in its own type (other types are decoded to F32 first).</summary>
    public static DenseRows Transposed(GgufTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var inner = checked((int)tensor.Shape[0]);
        var outer = checked((int)tensor.Shape[1]);
        if (tensor.Type is GgmlType.F16 or GgmlType.BF16)
        {
            var source = MemoryMarshal.Cast<byte, ushort>(tensor.Data);
            var result = new ushort[source.Length];
            for (var o = 0; o < outer; o++)
            {
                for (var i = 0; i < inner; i++)
                {
                    result[(i * outer) + o] = source[(o * inner) + i];
                }
            }
            return new DenseRows(MemoryMarshal.AsBytes(result.AsSpan()).ToArray(), tensor.Type, outer, inner);
        }
        var values = VisionTensors.Decode(tensor);
        var transposed = new float[values.Length];
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                transposed[(i * outer) + o] = values[(o * inner) + i];
            }
        }
        return new DenseRows(MemoryMarshal.AsBytes(transposed.AsSpan()).ToArray(), GgmlType.F32, outer, inner);
    }

    /// <summary>For each of <paramref name="tokens"/> rows of <paramref name="x"/>, the <see cref="Rows"/> products at <c>t·Rows</c> in <paramref name="y"/>.</summary>
    public void Multiply(float[] x, int tokens, float[] y, int threads)
    {
        var activationBytes = _dot.ActivationRowBytes(Columns);
        var activations = new byte[(long)activationBytes * tokens];
        var width = KernelWidths.Current;
        for (var t = 0; t < tokens; t++)
        {
            _dot.QuantizeActivations(x.AsSpan(t * Columns, Columns), activations.AsSpan(t * activationBytes, activationBytes), width);
        }
        Parallel.For(0, Rows, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, r =>
        {
            var row = _data.AsSpan(r * RowBytes, RowBytes);
            for (var t = 0; t < tokens; t++)
            {
                y[(t * Rows) + r] = _dot.Dot(row, activations.AsSpan(t * activationBytes, activationBytes), Columns, width);
            }
        });
    }
}
