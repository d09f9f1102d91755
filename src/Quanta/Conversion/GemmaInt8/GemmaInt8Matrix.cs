using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.PyTorch;

namespace Quanta.Conversion.GemmaInt8;

/// <summary>
/// An int8 matrix of a gemma_pytorch checkpoint with its per-row <c>weight_scaler</c>, or a band of its rows
/// (Q, K or V of a fused <c>qkv_proj</c>: the scalers split with the rows, so the split is exact).
/// </summary>
public sealed class GemmaInt8Matrix
{
    readonly PyTorchTensor _weight;
    readonly PyTorchTensor _scaler;
    readonly int _firstRow;

    GemmaInt8Matrix(string name, PyTorchTensor weight, PyTorchTensor scaler, int firstRow, int rows, int columns)
    {
        Name = name;
        _weight = weight;
        _scaler = scaler;
        _firstRow = firstRow;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>The module name in the state dict (<c>model.layers.0.mlp.down_proj</c>).</summary>
    public string Name { get; }

    public int Rows { get; }

    /// <summary>Row length: GGUF's ne0.</summary>
    public int Columns { get; }

    /// <summary>The dtype the scalers are stored in (bf16 in Google's files).</summary>
    public PyTorchDType ScalerDType => _scaler.DType;

    /// <summary>Pairs <c>{name}.weight</c> (int8, 2-D) with <c>{name}.weight_scaler</c> (one float per row).</summary>
    public static GemmaInt8Matrix Open(PyTorchCheckpoint checkpoint, string name)
    {
        var weight = checkpoint[name + ".weight"];
        var scaler = checkpoint.Find(name + ".weight_scaler")
            ?? throw new PyTorchFormatException(checkpoint.Path, $"'{name}.weight' has no weight_scaler: not an int8 (quant) checkpoint");
        if (weight.DType != PyTorchDType.Int8 || weight.Shape.Count != 2 || !weight.IsContiguous)
        {
            throw new PyTorchFormatException(checkpoint.Path, $"'{name}.weight' is {weight.DType} [{string.Join(", ", weight.Shape)}]; expected a contiguous 2-D int8 matrix");
        }
        if (scaler.DType is not (PyTorchDType.BFloat16 or PyTorchDType.Float16 or PyTorchDType.Float32)
            || scaler.Shape.Count != 1 || scaler.Shape[0] != weight.Shape[0] || !scaler.IsContiguous)
        {
            throw new PyTorchFormatException(checkpoint.Path, $"'{name}.weight_scaler' is {scaler.DType} [{string.Join(", ", scaler.Shape)}]; expected {weight.Shape[0]} floats, one per row");
        }
        if (weight.Shape[0] > int.MaxValue || weight.Shape[1] > int.MaxValue)
        {
            throw new PyTorchFormatException(checkpoint.Path, $"'{name}.weight' is too large");
        }
        return new GemmaInt8Matrix(name, weight, scaler, 0, (int)weight.Shape[0], (int)weight.Shape[1]);
    }

    /// <summary>Rows <paramref name="first"/> .. <paramref name="first"/>+<paramref name="count"/> as a matrix of their own.</summary>
    public GemmaInt8Matrix SliceRows(int first, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(first, Rows - count);
        return new GemmaInt8Matrix(Name, _weight, _scaler, _firstRow + first, count, Columns);
    }

    /// <summary>The int8 values of one row.</summary>
    public ReadOnlySpan<sbyte> Quants(int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
        return MemoryMarshal.Cast<byte, sbyte>(_weight.Slice((long)(_firstRow + row) * Columns, Columns));
    }

    /// <summary>The scaler of one row, as float32.</summary>
    public float Scaler(int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
        var size = _scaler.ElementSize;
        var bytes = _scaler.Slice((long)(_firstRow + row) * size, size);
        return _scaler.DType switch
        {
            PyTorchDType.BFloat16 => BFloat16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(bytes)),
            PyTorchDType.Float16 => Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(bytes)),
            _ => BinaryPrimitives.ReadSingleLittleEndian(bytes),
        };
    }

    /// <summary>Rows to float32, <c>w = int8 · scaler[row]</c>; <paramref name="destination"/> holds count × Columns floats.</summary>
    public void Dequantize(int firstRow, int count, Span<float> destination)
    {
        for (var r = 0; r < count; r++)
        {
            GemmaInt8Rows.Dequantize(Quants(firstRow + r), Scaler(firstRow + r), destination.Slice(r * Columns, Columns));
        }
    }

    /// <summary>
    /// Whether every row maps losslessly onto Q8_0; when not, <paramref name="reason"/> says why (the caller falls
    /// back to float32 and requantizes).
    /// </summary>
    public bool IsLosslessQ8_0(out string? reason)
    {
        if (Columns % 32 != 0)
        {
            reason = $"{Name}: row length {Columns} is not a multiple of 32";
            return false;
        }
        for (var r = 0; r < Rows; r++)
        {
            var scaler = Scaler(r);
            if (!GemmaInt8Rows.FitsFp16(scaler))
            {
                reason = $"{Name}: row {r} scaler {scaler:R} is not exactly representable in fp16";
                return false;
            }
        }
        reason = null;
        return true;
    }

    /// <summary>Q8_0 bytes of rows (34 bytes per 32 values): block scale = the row's scaler, quants copied.</summary>
    public void EncodeQ8_0(int firstRow, int count, Span<byte> destination)
    {
        var rowBytes = Columns / 32 * 34;
        for (var r = 0; r < count; r++)
        {
            if (!GemmaInt8Rows.TryEncodeQ8_0(Quants(firstRow + r), Scaler(firstRow + r), destination.Slice(r * rowBytes, rowBytes)))
            {
                throw new InvalidOperationException($"{Name}: row {firstRow + r} has no lossless Q8_0 form; check IsLosslessQ8_0 first");
            }
        }
    }
}
