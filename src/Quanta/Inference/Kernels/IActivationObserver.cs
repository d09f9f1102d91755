namespace Quanta.Inference.Kernels;

/// <summary>
/// Sees the float activations a weight matrix is about to multiply, before they are converted to the weights'
/// <c>vec_dot_type</c>: what llama.cpp's scheduler hands its <c>cb_eval</c> callback for a <c>MUL_MAT</c> node
/// (src0 the weight, src1 the activations). llama-imatrix's statistics are gathered this way. Called on the
/// thread that runs the forward pass, once per multiplication; the span is only valid during the call.
/// </summary>
public interface IActivationObserver
{
    /// <summary>
    /// <paramref name="tokens"/> rows of <paramref name="columns"/> activations (<c>[token][column]</c>) about to
    /// be multiplied by the weight called <paramref name="weightName"/>.
    /// </summary>
    void Observe(string weightName, ReadOnlySpan<float> activations, int tokens, int columns);
}
