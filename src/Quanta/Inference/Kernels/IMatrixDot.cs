namespace Quanta.Inference.Kernels;

/// <summary>
/// A weight type's product of a block of weight rows with a block of tokens in one call, tiled so that a few
/// unpacked weight rows meet every token of a group while both are in cache (what llamafile's tinyBLAS and
/// ggml's row chunks do). Each (row, token) result is the float-for-float value of <see cref="IVecDot.Dot"/>:
/// the tiles change which products are computed together, never the order in which one result is summed.
/// </summary>
public interface IMatrixDot
{
    /// <summary>Whether <see cref="Multiply"/> runs at <paramref name="width"/> on this machine (else the caller dots row by row).</summary>
    bool CanMultiply(KernelWidth width);

    /// <summary>
    /// <c>output[t·outputStride + r] = Dot(row r, token t)</c> for <paramref name="rows"/> consecutive weight rows of
    /// <paramref name="rowBytes"/> bytes and <paramref name="tokens"/> activation rows of
    /// <paramref name="activationRowBytes"/> bytes, each of <paramref name="n"/> elements.
    /// </summary>
    void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<float> output, int outputStride);
}
