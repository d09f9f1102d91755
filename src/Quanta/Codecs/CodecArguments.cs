using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// The argument checks every codec makes before touching its destination, so a bad call fails the same way
/// whatever the format, and nothing is written when it fails.
/// </summary>
internal static class CodecArguments
{
    /// <summary>Validates an Encode call and returns the row count.</summary>
    public static int CheckEncode(GgmlTypeInfo info, int valueCount, int rowLength, ReadOnlySpan<float> importance, int destinationLength)
    {
        if (rowLength <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rowLength), rowLength, "row length must be positive");
        }
        if (rowLength % info.BlockElements != 0)
        {
            throw new ArgumentException(
                $"{info.Name} packs {info.BlockElements} values per block; a row of {rowLength} values is not a whole number of blocks",
                nameof(rowLength));
        }
        if (valueCount % rowLength != 0)
        {
            throw new ArgumentException($"{valueCount} values are not a whole number of rows of {rowLength}", "rows");
        }
        if (!importance.IsEmpty && importance.Length != rowLength)
        {
            throw new ArgumentException($"importance holds {importance.Length} weights; expected none or one per column ({rowLength})", nameof(importance));
        }
        var bad = IndexOfNonFinite(importance);
        if (bad >= 0)
        {
            throw new ArgumentException($"importance weight {bad} is {importance[bad]}; weights must be finite", nameof(importance));
        }
        var rows = valueCount / rowLength;
        var expected = rows * (long)info.RowBytes(rowLength);
        if (destinationLength != expected)
        {
            throw new ArgumentException($"{rows} rows of {rowLength} {info.Name} values take {expected} bytes; destination has {destinationLength}", "destination");
        }
        return rows;
    }

    /// <summary>Validates a Decode call and returns the block count.</summary>
    public static int CheckDecode(GgmlTypeInfo info, int sourceLength, int destinationLength)
    {
        if (sourceLength % info.BlockBytes != 0)
        {
            throw new ArgumentException($"{sourceLength} bytes are not a whole number of {info.BlockBytes}-byte {info.Name} blocks", "source");
        }
        var blocks = sourceLength / info.BlockBytes;
        if (destinationLength != (long)blocks * info.BlockElements)
        {
            throw new ArgumentException($"{blocks} {info.Name} blocks decode to {(long)blocks * info.BlockElements} values; destination has {destinationLength}", "destination");
        }
        return blocks;
    }

    /// <summary>Throws <see cref="NonFiniteValueException"/> when the row holds NaN or ±infinity.</summary>
    public static void ThrowIfNonFinite(ReadOnlySpan<float> row, long rowIndex)
    {
        var bad = IndexOfNonFinite(row);
        if (bad >= 0)
        {
            throw new NonFiniteValueException(rowIndex, bad, row[bad]);
        }
    }

    /// <summary>Index of the first NaN or infinity, or −1. An all-ones exponent marks both.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var exponent = Vector256.Create(0x7F800000u);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var bits = Vector256.Create(values.Slice(i, Vector256<float>.Count)).AsUInt32();
                if (Vector256.EqualsAny(bits & exponent, exponent))
                {
                    break; // the scalar loop below finds which one
                }
            }
        }
        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }
        return -1;
    }
}
