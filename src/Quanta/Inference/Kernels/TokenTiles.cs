namespace Quanta.Inference.Kernels;

/// <summary>A k-quant kernel whose register tile is one row × <see cref="TokenTiles.Group"/> tokens.</summary>
internal unsafe interface IRowTileKernel
{
    /// <summary>One weight row against four tokens' activations: <c>y[t · outputStride]</c> for t = 0..3.</summary>
    static abstract void Row4(byte* w, int blocks, byte* a, int activationRowBytes, float* y, int outputStride);

    /// <summary>One weight row against one token: ggml's one-row loop.</summary>
    static abstract float Row1(byte* w, int blocks, byte* a);
}

/// <summary>
/// The loop the row × four-token tiles share (Q3_K, Q4_K, Q6_K): tokens outermost in groups of four, whose activations stay
/// in L1 while the rows stream past; the tokens left over (and generation's single token) one at a time.
/// </summary>
internal static unsafe class TokenTiles
{
    public const int Group = 4;

    public static void Multiply<TKernel>(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride)
        where TKernel : IRowTileKernel
    {
        var blocks = n / 256;
        fixed (byte* w = weights, a = activations)
        fixed (float* y = output)
        {
            var t0 = 0;
            for (; t0 + Group <= tokens; t0 += Group)
            {
                var at = a + ((long)t0 * activationRowBytes);
                var yt = y + ((long)t0 * outputStride);
                for (var r = 0; r < rows; r++)
                {
                    TKernel.Row4(w + ((long)r * rowBytes), blocks, at, activationRowBytes, yt + r, outputStride);
                }
            }
            for (; t0 < tokens; t0++)
            {
                var at = a + ((long)t0 * activationRowBytes);
                var yt = y + ((long)t0 * outputStride);
                for (var r = 0; r < rows; r++)
                {
                    yt[r] = TKernel.Row1(w + ((long)r * rowBytes), blocks, at);
                }
            }
        }
    }
}
