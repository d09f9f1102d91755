using System.Buffers;
using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Conversion;

/// <summary>A converted tensor seen in F16: its float32 values rounded to half precision as they are read.</summary>
public sealed class HalfPrecisionTensor : ISourceTensor
{
    readonly ConvertedTensor _tensor;

    public HalfPrecisionTensor(ConvertedTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        _tensor = tensor;
        Info = new GgufTensorInfo(tensor.Info.Name, [.. tensor.Info.Shape], GgmlType.F16);
    }

    public GgufTensorInfo Info { get; }

    public int ShardIndex => _tensor.ShardIndex;

    public long FileOffset => _tensor.FileOffset;

    public void Read(long start, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (start % sizeof(ushort) != 0 || destination.Length % sizeof(ushort) != 0 || start > Info.ByteSize - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(destination), $"bytes {start}..{start + destination.Length} are not whole elements of tensor '{Info.Name}' ({Info.ByteSize} bytes)");
        }
        var count = destination.Length / sizeof(ushort);
        var floats = ArrayPool<float>.Shared.Rent(count);
        try
        {
            _tensor.ReadFloats(start / sizeof(ushort), floats.AsSpan(0, count));
            Fp16.FromFloat(floats.AsSpan(0, count), MemoryMarshal.Cast<byte, ushort>(destination));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(floats);
        }
    }

    public override string ToString() => Info.ToString();
}
