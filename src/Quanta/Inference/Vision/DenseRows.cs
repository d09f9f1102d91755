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
    float[]? _floats;
    ushort[]? _halves;

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

    /// <summary>A 2-D tensor as it is.</summary>
    public static DenseRows FromTensor(GgufTensor tensor) =>
        FromTensor(tensor, checked((int)tensor.Shape[0]), checked((int)(tensor.Info.ElementCount / tensor.Shape[0])));

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

    /// <summary>
    /// For each of <paramref name="tokens"/> rows of <paramref name="x"/>, the <see cref="Rows"/> products at
    /// <c>t·Rows</c> in <paramref name="y"/>. <paramref name="tokensAreTinyBlasRows"/>: ggml multiplies the other way
    /// round (the tokens are <c>mul_mat</c>'s first operand, as im2col's patches are), which decides whether tinyBLAS
    /// takes the product.
    /// </summary>
    public void Multiply(float[] x, int tokens, float[] y, int threads, bool tokensAreTinyBlasRows = false)
    {
        var width = KernelWidths.Current;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) };
        if (Type is GgmlType.F16 or GgmlType.F32)
        {
            // As ggml-cpu: activations rounded to the weights' type (F16 stays F16), then tinyBLAS's order when the
            // shape allows it, ggml_vec_dot's otherwise (F16 at the running width, F32 in the oracle's AVX-512 order).
            var weights = _floats ??= Type == GgmlType.F16 ? HalfToFloat(_data) : MemoryMarshal.Cast<byte, float>(_data.AsSpan()).ToArray();
            var halfWeights = Type == GgmlType.F16 ? _halves ??= MemoryMarshal.Cast<byte, ushort>(_data.AsSpan()).ToArray() : null;
            var inputs = (float[])x.Clone();
            var halfInputs = Type == GgmlType.F16 ? new ushort[(long)tokens * Columns] : null;
            if (halfInputs is not null)
            {
                Fp16.FromFloat(x.AsSpan(0, tokens * Columns), halfInputs);
                for (var i = 0; i < halfInputs.Length; i++)
                {
                    inputs[i] = Fp16.ToFloat(halfInputs[i]);
                }
            }
            var tiny = tokensAreTinyBlasRows
                ? VisionModel.TinyBlasTakes(rows: tokens, length: Columns, tokens: Rows)
                : VisionModel.TinyBlasTakes(rows: Rows, length: Columns, tokens: tokens);
            Parallel.For(0, Rows, options, r =>
            {
                for (var t = 0; t < tokens; t++)
                {
                    y[(t * Rows) + r] = tiny
                        ? TinyBlas512Order.Dot(weights.AsSpan(r * Columns, Columns), inputs.AsSpan(t * Columns, Columns))
                        : halfWeights is not null
                            ? F16Dot.Dot(halfWeights.AsSpan(r * Columns, Columns), halfInputs.AsSpan(t * Columns, Columns), width)
                            : Avx512VecDotOrder.Dot(weights.AsSpan(r * Columns, Columns), inputs.AsSpan(t * Columns, Columns));
                }
            });
            return;
        }
        var activationBytes = _dot.ActivationRowBytes(Columns);
        var activations = new byte[(long)activationBytes * tokens];
        for (var t = 0; t < tokens; t++)
        {
            _dot.QuantizeActivations(x.AsSpan(t * Columns, Columns), activations.AsSpan(t * activationBytes, activationBytes), width);
        }
        Parallel.For(0, Rows, options, r =>
        {
            var row = _data.AsSpan(r * RowBytes, RowBytes);
            for (var t = 0; t < tokens; t++)
            {
                y[(t * Rows) + r] = _dot.Dot(row, activations.AsSpan(t * activationBytes, activationBytes), Columns, width);
            }
        });
    }

    static float[] HalfToFloat(byte[] data)
    {
        var halves = MemoryMarshal.Cast<byte, ushort>(data.AsSpan());
        var result = new float[halves.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = Fp16.ToFloat(halves[i]);
        }
        return result;
    }
}
