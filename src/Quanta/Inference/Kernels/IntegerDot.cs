using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Quanta.Inference.Kernels;

/// <summary>Views of the signed-byte quants the integer parts of the dot products work on.</summary>
internal static class IntegerDot
{
    /// <summary>The signed-byte quants of a Q8_0, Q8_1 or Q8_K block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<sbyte> Signed(ReadOnlySpan<byte> bytes) => MemoryMarshal.Cast<byte, sbyte>(bytes);
}
