namespace Quanta.Inference.Kernels;

/// <summary>
/// Rotary position embedding as ggml-cpu's <c>rope_f32</c> computes it without YaRN (<c>ext_factor = 0</c>):
/// the angle of pair i is built by repeated multiplication, <c>θ₀ = p</c>, <c>θᵢ₊₁ = θᵢ·base^(−2/n_dims)</c>
/// (ggml's cache, not a fresh power per pair), divided by the pair's frequency factor when the model has them
/// (llama3's <c>rope_freqs</c>, phi3's LongRoPE factors), times <c>freq_scale</c>, and cosf/sinf of it times the
/// attention factor (<c>mscale</c>). Normal mode rotates adjacent pairs (llama), NeoX mode pairs i and i + n_dims/2
/// (gemma, qwen2, phi3). Dimensions past n_dims are left as they are.
/// </summary>
public static class Rope
{
    /// <summary>Fills <paramref name="cosSin"/> (n_dims floats: cos, sin per pair) for position <paramref name="position"/>.</summary>
    public static void Angles(int position, int dimensions, float freqBase, float freqScale, Span<float> cosSin) =>
        Angles(position, dimensions, freqBase, freqScale, [], 1f, cosSin);

    /// <summary>
    /// As <see cref="Angles(int, int, float, float, Span{float})"/> with per-pair frequency factors (empty: none) and
    /// the magnitude <paramref name="attentionFactor"/> that ggml multiplies into cos and sin.
    /// </summary>
    public static void Angles(int position, int dimensions, float freqBase, float freqScale, ReadOnlySpan<float> factors, float attentionFactor, Span<float> cosSin)
    {
        var thetaScale = MathF.Pow(freqBase, -2.0f / dimensions);
        var theta = (float)position;
        for (var i = 0; i < dimensions; i += 2)
        {
            var extrapolated = factors.IsEmpty ? theta : theta / factors[i / 2];
            var angle = freqScale * extrapolated;
            cosSin[i] = MathF.Cos(angle) * attentionFactor;
            cosSin[i + 1] = MathF.Sin(angle) * attentionFactor;
            theta *= thetaScale;
        }
    }

    /// <summary>Rotates one head in place with the angles of <see cref="Angles(int, int, float, float, Span{float})"/>.</summary>
    public static void Apply(Span<float> head, ReadOnlySpan<float> cosSin, int dimensions, bool neox)
    {
        for (var i = 0; i < dimensions; i += 2)
        {
            var cos = cosSin[i];
            var sin = cosSin[i + 1];
            var (a, b) = neox ? (i / 2, i / 2 + dimensions / 2) : (i, i + 1);
            var x0 = head[a];
            var x1 = head[b];
            head[a] = x0 * cos - x1 * sin;
            head[b] = x0 * sin + x1 * cos;
        }
    }
}
