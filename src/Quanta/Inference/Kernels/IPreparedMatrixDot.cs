namespace Quanta.Inference.Kernels;

/// <summary>
/// An <see cref="IMatrixDot"/> whose tiles read the batch's activations in a layout of their own, made once per
/// product (<see cref="MatMul"/> does it before the threads split the rows) rather than by every chunk of rows.
/// </summary>
internal interface IPreparedMatrixDot : IMatrixDot
{
    /// <summary>The bytes <see cref="Prepare"/> needs for this batch, or 0 where the tiles read the activations as they are.</summary>
    int PreparedBytes(int tokens, int n, KernelWidth width);

    /// <summary>Lays out <paramref name="tokens"/> activation rows for <see cref="Multiply"/>.</summary>
    void Prepare(ReadOnlySpan<byte> activations, int activationRowBytes, int tokens, int n, Span<byte> prepared);

    /// <summary><see cref="IMatrixDot.Multiply"/> with the activations also as <see cref="Prepare"/> laid them out.</summary>
    void Multiply(ReadOnlySpan<byte> weights, int rowBytes, int rows, ReadOnlySpan<byte> activations, int activationRowBytes, ReadOnlySpan<byte> prepared, int tokens, int n, Span<float> output, int outputStride);
}
