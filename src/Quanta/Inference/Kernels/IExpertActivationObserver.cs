namespace Quanta.Inference.Kernels;

/// <summary>
/// An <see cref="IActivationObserver"/> that also sees the multiplications by per-expert weights (<c>*_exps</c>):
/// what llama.cpp's <c>cb_eval</c> gets for a <c>MUL_MAT_ID</c> node. A routed feed-forward reports each expert
/// tensor once per batch here, with the experts each token was routed to, instead of one plain multiplication
/// per expert (which would describe the gathered tokens, not the tensor).
/// </summary>
public interface IExpertActivationObserver : IActivationObserver
{
    /// <summary>
    /// The activations (<c>[token][row][column]</c>, <paramref name="rowsPerToken"/> rows per token: one shared by
    /// every selected expert, or one per selection slot) about to be multiplied by the experts of
    /// <paramref name="weightName"/> (<paramref name="expertCount"/> matrices of <paramref name="columns"/>
    /// columns); <paramref name="selected"/> holds each token's <paramref name="expertsPerToken"/> experts.
    /// </summary>
    void ObserveExperts(string weightName, int expertCount, int columns, ReadOnlySpan<float> activations, int rowsPerToken, ReadOnlySpan<int> selected, int expertsPerToken);
}
