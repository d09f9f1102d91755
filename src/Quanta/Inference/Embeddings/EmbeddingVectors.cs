namespace Quanta.Inference.Embeddings;

/// <summary>What Ollama's server does to a runner's embedding: L2 normalisation and Matryoshka truncation.</summary>
public static class EmbeddingVectors
{
    /// <summary>
    /// Scales <paramref name="vector"/> to unit length in place, as Ollama's <c>normalize</c> (server/routes.go): the
    /// squares summed in float32 in order, then <c>float32(1 / max(sqrt(float64(sum)), 1e-12))</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A NaN or infinite value (Ollama: "embedding contains NaN or Inf values").</exception>
    public static void Normalize(Span<float> vector)
    {
        var sum = 0f;
        foreach (var v in vector)
        {
            if (!float.IsFinite(v))
            {
                throw new ArgumentException("embedding contains NaN or Inf values", nameof(vector));
            }
            var square = v * v;
            sum += square;
        }
        var norm = (float)(1.0 / Math.Max(Math.Sqrt(sum), 1e-12));
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] *= norm;
        }
    }

    /// <summary>
    /// The vector Ollama's <c>/api/embed</c> answers: normalised, then, when 0 &lt; <paramref name="dimensions"/> &lt; its
    /// length, cut to the first <paramref name="dimensions"/> and normalised again.
    /// </summary>
    public static float[] ForResponse(ReadOnlySpan<float> pooled, int dimensions)
    {
        var vector = pooled.ToArray();
        Normalize(vector);
        if (dimensions > 0 && dimensions < vector.Length)
        {
            vector = vector[..dimensions];
            Normalize(vector);
        }
        return vector;
    }
}
