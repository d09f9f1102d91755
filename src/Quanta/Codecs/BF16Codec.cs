using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>BF16: the top half of each float, rounded to nearest even (<c>ggml_fp32_to_bf16_row_ref</c>).</summary>
internal sealed class BF16Codec() : RowCodec(GgmlType.BF16)
{
    /// <summary>
    /// The whole chunk in one pass that both converts and checks for non-finite values (rows are contiguous at two
    /// bytes per value): one memory-bound pass instead of a check pass and a conversion pass per row. Finite values
    /// need no NaN branch in the rounding. As the row-by-row frame, everything before the first bad value is
    /// written when the exception leaves.
    /// </summary>
    public override void Encode(ReadOnlySpan<float> rows, int rowLength, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        CodecArguments.CheckEncode(Info, rows.Length, rowLength, importance, destination.Length);
        var bad = FromFiniteFloats(rows, MemoryMarshal.Cast<byte, ushort>(destination));
        if (bad >= 0)
        {
            throw new NonFiniteValueException(bad / rowLength, bad % rowLength, rows[bad]);
        }
    }

    protected override void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination) =>
        BFloat16.FromFloat(row, MemoryMarshal.Cast<byte, ushort>(destination));

    protected override void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination) =>
        BFloat16.ToFloat(MemoryMarshal.Cast<byte, ushort>(source), destination);

    /// <summary>
    /// Converts <paramref name="source"/> as <see cref="BFloat16.FromFloat(float)"/> does, the widest accelerated
    /// vectors first, and stops at the first NaN or infinity: its index, or −1 when every value was finite and
    /// converted. Everything before that index is written.
    /// </summary>
    internal static int FromFiniteFloats(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        var i = 0;
        ref var src = ref MemoryMarshal.GetReference(source);
        ref var dst = ref MemoryMarshal.GetReference(destination);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= source.Length - 2 * Vector512<float>.Count; i += 2 * Vector512<float>.Count)
            {
                var lower = Vector512.LoadUnsafe(ref src, (nuint)i).AsUInt32();
                var upper = Vector512.LoadUnsafe(ref src, (nuint)(i + Vector512<float>.Count)).AsUInt32();
                var exponent = Vector512.Create(0x7F800000u);
                if (Vector512.EqualsAny(lower & exponent, exponent) || Vector512.EqualsAny(upper & exponent, exponent))
                {
                    break; // the scalar loop below converts up to the bad value and finds it
                }
                Vector512.Narrow(Round(lower), Round(upper)).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= source.Length - 2 * Vector256<float>.Count; i += 2 * Vector256<float>.Count)
            {
                var lower = Vector256.LoadUnsafe(ref src, (nuint)i).AsUInt32();
                var upper = Vector256.LoadUnsafe(ref src, (nuint)(i + Vector256<float>.Count)).AsUInt32();
                var exponent = Vector256.Create(0x7F800000u);
                if (Vector256.EqualsAny(lower & exponent, exponent) || Vector256.EqualsAny(upper & exponent, exponent))
                {
                    break;
                }
                Vector256.Narrow(Round(lower), Round(upper)).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        for (; i < source.Length; ++i)
        {
            var value = source[i];
            if (!float.IsFinite(value))
            {
                return i;
            }
            destination[i] = BFloat16.FromFloat(value);
        }
        return -1;
    }

    /// <summary><see cref="BFloat16.FromFloat(float)"/>'s rounding for finite values: to nearest, ties to even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Round(Vector512<uint> u) =>
        Vector512.ShiftRightLogical(u + Vector512.Create(0x7FFFu) + (Vector512.ShiftRightLogical(u, 16) & Vector512<uint>.One), 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round(Vector256<uint> u) =>
        Vector256.ShiftRightLogical(u + Vector256.Create(0x7FFFu) + (Vector256.ShiftRightLogical(u, 16) & Vector256<uint>.One), 16);
}
