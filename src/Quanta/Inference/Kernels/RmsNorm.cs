namespace Quanta.Inference.Kernels;

/// <summary>
/// ggml's <c>rms_norm</c> followed by the weight multiply llama.cpp's graph puts after it: the mean of squares
/// summed in double (each square rounded to float first), <c>scale = 1/sqrtf(mean + eps)</c> in float, then
/// <c>y = (x·scale)·w</c>.
/// </summary>
public static class RmsNorm
{
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float epsilon, Span<float> y)
    {
        double sum = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += x[i] * x[i];
        }
        var mean = (float)(sum / x.Length);
        var scale = 1f / MathF.Sqrt(mean + epsilon);
        for (var i = 0; i < x.Length; i++)
        {
            y[i] = x[i] * scale * weight[i];
        }
    }
}
