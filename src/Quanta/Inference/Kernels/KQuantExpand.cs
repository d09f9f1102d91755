using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Unpacks the quants of a K-quant super-block to one signed byte per weight, in element order, so that the dot
/// product is a plain sum of byte products per sub-block (<see cref="Avx2DotOrder"/>). Scalar and 256-bit paths give the same bytes.
/// </summary>
internal static class KQuantExpand
{
    /// <summary>Q4_K's 128 bytes of nibbles: 32 bytes hold sub-block 2k in their low and 2k+1 in their high nibbles.</summary>
    public static void Q4K(ReadOnlySpan<byte> qs, Span<sbyte> q, KernelWidth width)
    {
        for (var k = 0; k < 4; k++)
        {
            var chunk = qs.Slice(32 * k, 32);
            if (width == KernelWidth.Scalar)
            {
                for (var l = 0; l < 32; l++)
                {
                    q[64 * k + l] = (sbyte)(chunk[l] & 0xF);
                    q[64 * k + 32 + l] = (sbyte)(chunk[l] >> 4);
                }
            }
            else
            {
                var v = Vector256.Create(chunk);
                var output = MemoryMarshal.Cast<sbyte, byte>(q);
                (v & Vector256.Create((byte)0xF)).CopyTo(output[(64 * k)..]);
                Vector256.ShiftRightLogical(v, 4).CopyTo(output[(64 * k + 32)..]);
            }
        }
    }

    /// <summary>Q5_K: Q4_K's nibbles plus a fifth bit, bit j of qh[l] for sub-block j.</summary>
    public static void Q5K(ReadOnlySpan<byte> qh, ReadOnlySpan<byte> qs, Span<sbyte> q, KernelWidth width)
    {
        Q4K(qs, q, width);
        if (width == KernelWidth.Scalar)
        {
            for (var j = 0; j < 8; j++)
            {
                for (var l = 0; l < 32; l++)
                {
                    q[32 * j + l] += (sbyte)(((qh[l] >> j) & 1) << 4);
                }
            }
            return;
        }
        var high = Vector256.Create(qh);
        var output = MemoryMarshal.Cast<sbyte, byte>(q);
        var one = Vector256.Create((byte)1);
        for (var j = 0; j < 8; j++)
        {
            var bits = Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, j) & one, 4);
            (Vector256.Create(output.Slice(32 * j, 32)) | bits).CopyTo(output[(32 * j)..]);
        }
    }

    /// <summary>Q6_K: low nibbles in ql, two high bits in qh, minus 32 (ggml's <c>dequantize_row_q6_K</c> order).</summary>
    public static void Q6K(ReadOnlySpan<byte> ql, ReadOnlySpan<byte> qh, Span<sbyte> q, KernelWidth width)
    {
        for (var n = 0; n < 2; n++)
        {
            var l4 = ql.Slice(64 * n, 64);
            var h2 = qh.Slice(32 * n, 32);
            var y = q.Slice(128 * n, 128);
            if (width == KernelWidth.Scalar)
            {
                for (var l = 0; l < 32; l++)
                {
                    y[l] = (sbyte)(((l4[l] & 0xF) | ((h2[l] & 3) << 4)) - 32);
                    y[l + 32] = (sbyte)(((l4[l + 32] & 0xF) | (((h2[l] >> 2) & 3) << 4)) - 32);
                    y[l + 64] = (sbyte)(((l4[l] >> 4) | (((h2[l] >> 4) & 3) << 4)) - 32);
                    y[l + 96] = (sbyte)(((l4[l + 32] >> 4) | (((h2[l] >> 6) & 3) << 4)) - 32);
                }
                continue;
            }
            var low = Vector256.Create(l4);
            var low2 = Vector256.Create(l4[32..]);
            var high = Vector256.Create(h2);
            var nibble = Vector256.Create((byte)0xF);
            var two = Vector256.Create((byte)3);
            var bias = Vector256.Create((byte)32);
            var output = MemoryMarshal.Cast<sbyte, byte>(y);
            (((low & nibble) | Vector256.ShiftLeft(high & two, 4)) - bias).CopyTo(output);
            (((low2 & nibble) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, 2) & two, 4)) - bias).CopyTo(output[32..]);
            ((Vector256.ShiftRightLogical(low, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, 4) & two, 4)) - bias).CopyTo(output[64..]);
            ((Vector256.ShiftRightLogical(low2, 4) | Vector256.ShiftLeft(Vector256.ShiftRightLogical(high, 6) & two, 4)) - bias).CopyTo(output[96..]);
        }
    }
}
