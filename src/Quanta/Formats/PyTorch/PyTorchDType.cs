namespace Quanta.Formats.PyTorch;

/// <summary>The element types of PyTorch's legacy storage classes (<c>torch.FloatStorage</c> ...).</summary>
public enum PyTorchDType
{
    Float32,
    Float64,
    Float16,
    BFloat16,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
    Complex64,
    Complex128,
}

/// <summary>Storage class names and element sizes.</summary>
public static class PyTorchDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this PyTorchDType dtype) => dtype switch
    {
        PyTorchDType.Float64 or PyTorchDType.Int64 or PyTorchDType.Complex64 => 8,
        PyTorchDType.Float32 or PyTorchDType.Int32 => 4,
        PyTorchDType.Float16 or PyTorchDType.BFloat16 or PyTorchDType.Int16 => 2,
        PyTorchDType.Int8 or PyTorchDType.UInt8 or PyTorchDType.Bool => 1,
        PyTorchDType.Complex128 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The dtype of a <c>torch.&lt;Name&gt;Storage</c> class, or false for any other name.</summary>
    public static bool TryFromStorageClass(string name, out PyTorchDType dtype)
    {
        (var known, dtype) = name switch
        {
            "FloatStorage" => (true, PyTorchDType.Float32),
            "DoubleStorage" => (true, PyTorchDType.Float64),
            "HalfStorage" => (true, PyTorchDType.Float16),
            "BFloat16Storage" => (true, PyTorchDType.BFloat16),
            "LongStorage" => (true, PyTorchDType.Int64),
            "IntStorage" => (true, PyTorchDType.Int32),
            "ShortStorage" => (true, PyTorchDType.Int16),
            "CharStorage" => (true, PyTorchDType.Int8),
            "ByteStorage" => (true, PyTorchDType.UInt8),
            "BoolStorage" => (true, PyTorchDType.Bool),
            "ComplexFloatStorage" => (true, PyTorchDType.Complex64),
            "ComplexDoubleStorage" => (true, PyTorchDType.Complex128),
            _ => (false, default),
        };
        return known;
    }

    /// <summary>The storage class name for <paramref name="dtype"/> (what <c>torch.save</c> pickles).</summary>
    public static string StorageClass(this PyTorchDType dtype) => dtype switch
    {
        PyTorchDType.Float32 => "FloatStorage",
        PyTorchDType.Float64 => "DoubleStorage",
        PyTorchDType.Float16 => "HalfStorage",
        PyTorchDType.BFloat16 => "BFloat16Storage",
        PyTorchDType.Int64 => "LongStorage",
        PyTorchDType.Int32 => "IntStorage",
        PyTorchDType.Int16 => "ShortStorage",
        PyTorchDType.Int8 => "CharStorage",
        PyTorchDType.UInt8 => "ByteStorage",
        PyTorchDType.Bool => "BoolStorage",
        PyTorchDType.Complex64 => "ComplexFloatStorage",
        PyTorchDType.Complex128 => "ComplexDoubleStorage",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };
}
