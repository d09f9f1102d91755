using Quanta.Inference.Kernels;

namespace Quanta.Inference.Vision;

/// <summary>
/// ggml-cpu's <c>soft_max</c> of one attention row (no mask, scale 1) in the oracle's AVX-512 build: the maximum
/// subtracted, then <c>ggml_vec_soft_max_f32</c> takes 16 elements at a time through the vectorised <c>expf</c>
/// (<see cref="VectorExp"/>'s AVX-512 form) and adds each register's <c>_mm512_reduce_add_ps</c> to a double sum;
/// the last <c>n mod 16</c> go through libm's <c>expf</c>, each added in double. The row is then scaled by
/// <c>(float)(1/sum)</c>.
/// </summary>
internal static class ClipSoftMax
{
    const int Lanes = 16;

    public static void Apply(Span<float> row)
    {
        var max = float.NegativeInfinity;
        foreach (var v in row)
        {
            max = MathF.Max(max, v);
        }
        Span<float> lanes = stackalloc float[Lanes];
        double sum = 0;
        var i = 0;
        for (; i + Lanes <= row.Length; i += Lanes)
        {
            for (var l = 0; l < Lanes; l++)
            {
                var e = VectorExp.Exp(row[i + l] - max, avx512: true);
                row[i + l] = e;
                lanes[l] = e;
            }
            sum += TinyBlasOrder.Sum(lanes);
        }
        for (; i < row.Length; i++)
        {
            var e = MathF.Exp(row[i] - max);
            row[i] = e;
            sum += e;
        }
        var reciprocal = (float)(1.0 / sum);
        for (var k = 0; k < row.Length; k++)
        {
            row[k] *= reciprocal;
        }
    }
}
