using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// ggml-cpu's <c>mul_mat</c> for F32 and F16 weights against float activations (F16's already rounded to F16):
/// llamafile's tinyBLAS (<see cref="FloatTiles"/>) for a batch of two or more tokens when the row length is a multiple
/// of its lane count and the rows come in fours, else <c>ggml_vec_dot</c> (<see cref="FloatVecDot"/>) row by row.
/// F16 rows are widened to float a block at a time into a per-thread buffer (exact, as tinyBLAS's
/// <c>_mm512_cvtph_ps</c> loads are), so the conversion is paid once per row and not once per token.
/// </summary>
/// <remarks>
/// llama.cpp tests the row count of the whole matrix; a chunk only sees its own, so a matrix whose row count is not a
/// multiple of 4 has its last chunk in the vec_dot order and the others in tinyBLAS's.
/// </remarks>
internal static unsafe class FloatMatrix
{
    /// <summary>About this many bytes of widened weight rows are multiplied with every group of four tokens at a time.</summary>
    const int BlockBytes = 256 * 1024;

    [ThreadStatic]
    static float[]? t_block;

    public static void Multiply<TW>(
        ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n,
        Span<float> output, int outputStride, bool doubleTail, KernelWidth width)
        where TW : IFloatRow
    {
        fixed (byte* w = weights, x = activations)
        fixed (float* y = output)
        {
            if (!TinyBlasOrder.Applies(tokens, n, width) || rows % 4 != 0)
            {
                for (var r = 0; r < rows; r++)
                {
                    for (var t = 0; t < tokens; t++)
                    {
                        y[((long)t * outputStride) + r] = FloatVecDot.Dot<TW, F32Row>(w + ((long)r * rowBytes), x + ((long)t * activationRowBytes), n, doubleTail, width);
                    }
                }
                return;
            }
            var blockRows = Math.Clamp(BlockBytes / (4 * n) / 4 * 4, 4, 64);
            var widen = typeof(TW) != typeof(F32Row);
            if (widen && (t_block is null || t_block.Length < blockRows * n))
            {
                // Once per thread and row length; later calls reuse it.
                t_block = new float[blockRows * n];
            }
            fixed (float* block = t_block)
            {
                for (var r0 = 0; r0 < rows; r0 += blockRows)
                {
                    var count = Math.Min(blockRows, rows - r0);
                    float* a;
                    long lda;
                    if (widen)
                    {
                        for (var r = 0; r < count; r++)
                        {
                            Fp16.ToFloat(new ReadOnlySpan<ushort>(w + ((long)(r0 + r) * rowBytes), n), new Span<float>(block + ((long)r * n), n));
                        }
                        a = block;
                        lda = n;
                    }
                    else
                    {
                        a = (float*)(w + ((long)r0 * rowBytes));
                        lda = rowBytes / sizeof(float);
                    }
                    FloatTiles.Multiply(a, lda, count, (float*)x, activationRowBytes / sizeof(float), tokens, n, y + r0, outputStride, width);
                }
            }
        }
    }
}
