using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Quanta.Formats.Safetensors;

/// <summary>The element types a safetensors header may name (the ones Hugging Face checkpoints use).</summary>
public enum SafetensorsDType
{
    F64,
    F32,
    F16,
    BF16,
    F8_E4M3,
    F8_E5M2,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

/// <summary>Sizes, header spellings and exact conversion to float32 of <see cref="SafetensorsDType"/>.</summary>
public static class SafetensorsDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int Size(SafetensorsDType type) => type switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 => 2,
        _ => 1,
    };

    /// <summary>The header's spelling: <c>BF16</c>, <c>F8_E4M3</c>, <c>BOOL</c> ...</summary>
    public static string Name(SafetensorsDType type) => type == SafetensorsDType.Bool ? "BOOL" : type.ToString();

    public static bool TryParse(string? text, out SafetensorsDType type)
    {
        type = default;
        switch (text)
        {
            case "F64": type = SafetensorsDType.F64; return true;
            case "F32": type = SafetensorsDType.F32; return true;
            case "F16": type = SafetensorsDType.F16; return true;
            case "BF16": type = SafetensorsDType.BF16; return true;
            case "F8_E4M3": type = SafetensorsDType.F8_E4M3; return true;
            case "F8_E5M2": type = SafetensorsDType.F8_E5M2; return true;
            case "I64": type = SafetensorsDType.I64; return true;
            case "I32": type = SafetensorsDType.I32; return true;
            case "I16": type = SafetensorsDType.I16; return true;
            case "I8": type = SafetensorsDType.I8; return true;
            case "U8": type = SafetensorsDType.U8; return true;
            case "BOOL": type = SafetensorsDType.Bool; return true;
            default: return false;
        }
    }

    /// <summary>
    /// Converts little-endian elements to float32 as <c>torch.Tensor.to(torch.float32)</c> does: exactly for
    /// every 8- and 16-bit float and small integer, rounded to nearest even for F64 and wide integers.
    /// </summary>
    public static void ToFloat(SafetensorsDType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        var count = source.Length / Size(type);
        if (source.Length % Size(type) != 0 || destination.Length < count)
        {
            throw new ArgumentException($"{source.Length} bytes of {Name(type)} do not fill {destination.Length} floats");
        }
        destination = destination[..count];
        switch (type)
        {
            case SafetensorsDType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case SafetensorsDType.F16:
                Fp16.ToFloat(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            case SafetensorsDType.BF16:
                BFloat16.ToFloat(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            case SafetensorsDType.F64:
                for (var i = 0; i < count; i++)
                {
                    destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(i * 8)..]);
                }
                break;
            case SafetensorsDType.F8_E4M3:
                for (var i = 0; i < count; i++)
                {
                    destination[i] = E4M3ToFloat(source[i]);
                }
                break;
            case SafetensorsDType.F8_E5M2:
                // E5M2 is the top byte of an IEEE half: same exponent width and bias.
                for (var i = 0; i < count; i++)
                {
                    destination[i] = Fp16.ToFloat((ushort)(source[i] << 8));
                }
                break;
            case SafetensorsDType.I64:
                for (var i = 0; i < count; i++)
                {
                    destination[i] = BinaryPrimitives.ReadInt64LittleEndian(source[(i * 8)..]);
                }
                break;
            case SafetensorsDType.I32:
                for (var i = 0; i < count; i++)
                {
                    destination[i] = BinaryPrimitives.ReadInt32LittleEndian(source[(i * 4)..]);
                }
                break;
            case SafetensorsDType.I16:
                for (var i = 0; i < count; i++)
                {
                    destination[i] = BinaryPrimitives.ReadInt16LittleEndian(source[(i * 2)..]);
                }
                break;
            case SafetensorsDType.I8:
                for (var i = 0; i < count; i++)
                {
                    destination[i] = (sbyte)source[i];
                }
                break;
            case SafetensorsDType.U8:
                for (var i = 0; i < count; i++)
                {
                    destination[i] = source[i];
                }
                break;
            case SafetensorsDType.Bool:
                for (var i = 0; i < count; i++)
                {
                    destination[i] = source[i] != 0 ? 1f : 0f;
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>
    /// OCP FP8 E4M3 ("fn": finite, no infinities): 4 exponent bits with bias 7, 3 mantissa bits, and only
    /// S.1111.111 as NaN. Every value is a float32 exactly.
    /// </summary>
    [SuppressMessage("Style", "IDE0047", Justification = "bit arithmetic reads better with its grouping")]
    public static float E4M3ToFloat(byte b)
    {
        var sign = (b & 0x80) != 0 ? -1f : 1f;
        var exponent = (b >> 3) & 0xF;
        var mantissa = b & 0x7;
        if (exponent == 0xF && mantissa == 0x7)
        {
            return float.NaN;
        }
        var magnitude = exponent == 0
            ? mantissa * (1f / 512f) // subnormal: m/8 × 2^-6
            : (8 + mantissa) * MathF.ScaleB(1f, exponent - 10); // (1 + m/8) × 2^(e-7)
        return sign * magnitude;
    }
}
