namespace Quanta.Inference.Sampling;

/// <summary>
/// The steps several llama.cpp samplers share (src/llama-sampling.cpp, February 2025):
/// <c>llama_sampler_softmax_impl</c>, <c>llama_sampler_temp_impl</c>, <c>llama_sampler_top_k_impl</c>,
/// <c>llama_sample_dist</c> and <c>get_rng_seed</c>, in float arithmetic as the C++ does it.
/// </summary>
internal static class SamplerMath
{
    /// <summary>llama.cpp's <c>LLAMA_DEFAULT_SEED</c>: draw a random seed instead.</summary>
    public const uint DefaultSeed = 0xFFFFFFFF;

    /// <summary>
    /// Sorts the candidates by descending logit (libstdc++ <c>std::sort</c>) unless already sorted, then sets
    /// each probability to <c>expf(logit − max) / Σ</c> with the sum accumulated in float.
    /// </summary>
    public static void Softmax(TokenCandidates candidates)
    {
        var span = candidates.Span;
        if (!candidates.Sorted)
        {
            LibStdCxxSort.Sort(span, default(ByLogitDescending));
            candidates.Sorted = true;
        }
        var max = span[0].Logit;
        var sum = 0f;
        for (var i = 0; i < span.Length; i++)
        {
            var p = MathF.Exp(span[i].Logit - max);
            span[i].P = p;
            sum += p;
        }
        for (var i = 0; i < span.Length; i++)
        {
            span[i].P /= sum;
        }
    }

    /// <summary>
    /// Divides every logit by <paramref name="temperature"/>; at zero or below, keeps only the first largest
    /// logit and sets every other to −∞ (greedy through the chain).
    /// </summary>
    public static void ApplyTemperature(Span<TokenData> span, float temperature)
    {
        if (temperature <= 0f)
        {
            var maxIndex = 0;
            var max = span[0].Logit;
            for (var i = 1; i < span.Length; i++)
            {
                if (span[i].Logit > max)
                {
                    span[maxIndex].Logit = float.NegativeInfinity;
                    maxIndex = i;
                    max = span[i].Logit;
                }
                else
                {
                    span[i].Logit = float.NegativeInfinity;
                }
            }
            return;
        }
        for (var i = 0; i < span.Length; i++)
        {
            span[i].Logit /= temperature;
        }
    }

    /// <summary>
    /// Keeps the <paramref name="k"/> largest logits, sorted (k ≤ 0 means all of them, sorted). Up to 128 by
    /// <c>std::partial_sort</c>; beyond, llama.cpp's bucket pass: 128 buckets over logits [−10, 10], the top
    /// buckets each sorted and the last one partially.
    /// </summary>
    public static void TopK(TokenCandidates candidates, int k)
    {
        if (k <= 0)
        {
            k = candidates.Count;
        }
        k = Math.Min(k, candidates.Count);
        if (!candidates.Sorted)
        {
            var span = candidates.Span;
            if (k <= 128)
            {
                LibStdCxxSort.PartialSort(span, k, default(ByLogitDescending));
            }
            else
            {
                BucketTopK(span, k, candidates.Scratch);
            }
            candidates.Sorted = true;
        }
        candidates.Truncate(k);
    }

    static void BucketTopK(Span<TokenData> span, int k, SamplingScratch scratch)
    {
        const int Buckets = SamplingScratch.BucketCount;
        // constexpr bucket_scale = 128 / (10 - (-10)) and bucket_inter = 10 * bucket_scale, in float.
        const float BucketScale = 6.4f;
        const float BucketIntercept = 64f;

        var bucketOf = scratch.Indices.AsSpan(0, span.Length);
        var histogram = scratch.Histogram.AsSpan();
        histogram.Clear();
        for (var i = 0; i < span.Length; i++)
        {
            var bucket = Math.Max(0, Math.Min(Buckets - 1, TruncateToInt32((BucketScale * span[i].Logit) + BucketIntercept)));
            bucketOf[i] = bucket;
            ++histogram[bucket];
        }
        var have = 0;
        var lowest = Buckets - 1;
        for (; lowest >= 0; --lowest)
        {
            have += histogram[lowest];
            if (have >= k)
            {
                break;
            }
        }
        // Each bucket from the top down gets a contiguous range of the scratch copy, in token order.
        var fill = scratch.BucketFill.AsSpan();
        var start = 0;
        for (var j = Buckets - 1; j >= lowest; --j)
        {
            fill[Buckets - 1 - j] = start;
            start += histogram[j];
        }
        var top = scratch.Tokens.AsSpan(0, have);
        for (var i = 0; i < span.Length; i++)
        {
            var j = bucketOf[i];
            if (j >= lowest)
            {
                top[fill[Buckets - 1 - j]++] = span[i];
            }
        }
        var position = 0;
        var done = 0;
        for (var j = Buckets - 1; j > lowest; --j)
        {
            LibStdCxxSort.Sort(top.Slice(position, histogram[j]), default(ByLogitDescending));
            position += histogram[j];
            done += histogram[j];
        }
        LibStdCxxSort.PartialSort(top.Slice(position, histogram[lowest]), k - done, default(ByLogitDescending));
        top[..k].CopyTo(span);
    }

    /// <summary><c>llama_sample_dist</c>: a <c>std::discrete_distribution</c> draw over the probabilities.</summary>
    public static int SampleIndex(TokenCandidates candidates, Mt19937 generator) =>
        LibStdCxxRandom.Discrete(candidates.Span, generator, candidates.Scratch.Cumulative);

    /// <summary>
    /// <c>get_rng_seed</c>: the seed itself, or for <see cref="DefaultSeed"/> a fresh random one (llama.cpp
    /// asks <c>std::random_device</c>).
    /// </summary>
    public static uint ResolveSeed(uint seed) =>
        seed == DefaultSeed ? (uint)Random.Shared.NextInt64(0, 1L << 32) : seed;

    /// <summary>
    /// A C++ <c>int(x)</c> on x86-64 (<c>cvttss2si</c>): truncation toward zero, and the "integer indefinite"
    /// value <c>INT_MIN</c> for NaN and for values out of range, where .NET would saturate instead.
    /// </summary>
    public static int TruncateToInt32(float value) =>
        float.IsNaN(value) || value >= 2147483648f || value < -2147483648f ? int.MinValue : (int)value;
}
