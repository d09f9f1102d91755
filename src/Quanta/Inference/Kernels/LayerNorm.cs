namespace Quanta.Inference.Kernels;

/// <summary>
/// ggml's <c>norm</c> followed by the weight multiply and bias add the vision graphs put after it: the mean summed
/// in double, each centred value rounded to float and its square summed in double, <c>scale = 1/sqrtf(var + eps)</c>
/// in float, then <c>y = ((x − mean)·scale)·w + b</c>.
/// </summary>
public static class LayerNorm
{
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float epsilon, Span<float> y)
    {
        double sum = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += x[i];
        }
        var mean = (float)(sum / x.Length);
        double squares = 0;
        for (var i = 0; i < x.Length; i++)
        {
            var v = x[i] - mean;
            y[i] = v;
            squares += v * v;
        }
        var variance = (float)(squares / x.Length);
        var scale = 1.0f / MathF.Sqrt(variance + epsilon);
        for (var i = 0; i < x.Length; i++)
        {
            var v = y[i] * scale;
            if (!weight.IsEmpty)
            {
                v *= weight[i];
            }
            if (!bias.IsEmpty)
            {
                v += bias[i];
            }
            y[i] = v;
        }
    }
}
