namespace Quanta.Inference.Sampling;

/// <summary>
/// The distributions llama.cpp's samplers use, as GCC's libstdc++ (bits/random.tcc, random.h) computes
/// them from a <see cref="Mt19937"/>: the same seed gives the same draws, token for token.
/// </summary>
internal static class LibStdCxxRandom
{
    const double TwoTo32 = 4294967296.0;

    /// <summary>
    /// <c>std::generate_canonical&lt;double, 53&gt;</c>: two 32-bit outputs, low word first,
    /// <c>(g1 + g2 · 2³²) / 2⁶⁴</c> in double arithmetic, with 1 replaced by the largest double below it.
    /// </summary>
    public static double CanonicalDouble(Mt19937 generator)
    {
        var sum = 0.0;
        var scale = 1.0;
        for (var k = 0; k < 2; k++)
        {
            sum += generator.Next() * scale;
            scale *= TwoTo32;
        }
        var result = sum / scale;
        return result >= 1.0 ? Math.BitDecrement(1.0) : result;
    }

    /// <summary>
    /// <c>std::uniform_real_distribution&lt;float&gt;(0, 1)</c>: <c>generate_canonical&lt;float, 24&gt;</c>
    /// (one output, rounded to float, over 2³²; 1 becomes the largest float below it) times (b − a) plus a.
    /// </summary>
    public static float UniformFloat01(Mt19937 generator)
    {
        var result = (float)generator.Next() / (float)TwoTo32;
        if (result >= 1f)
        {
            result = MathF.BitDecrement(1f);
        }
        return (result * (1f - 0f)) + 0f;
    }

    /// <summary>
    /// <c>std::discrete_distribution&lt;int&gt;(p.begin(), p.end())(rng)</c> over the candidates'
    /// probabilities: weights as doubles divided by their sequential sum, cumulative sums with the last
    /// forced to 1, one canonical double, then <c>std::lower_bound</c>'s binary search. With fewer than two
    /// weights libstdc++ keeps no table and returns 0 without drawing, so the generator does not advance.
    /// </summary>
    public static int Discrete(ReadOnlySpan<TokenData> candidates, Mt19937 generator, Span<double> cumulative)
    {
        var count = candidates.Length;
        if (count < 2)
        {
            return 0;
        }
        var sum = 0.0;
        foreach (ref readonly var candidate in candidates)
        {
            sum += candidate.P;
        }
        var running = 0.0;
        for (var i = 0; i < count; i++)
        {
            running += candidates[i].P / sum;
            cumulative[i] = running;
        }
        cumulative[count - 1] = 1.0;

        var u = CanonicalDouble(generator);
        var first = 0;
        var length = count;
        while (length > 0)
        {
            var half = length >> 1;
            var middle = first + half;
            if (cumulative[middle] < u)
            {
                first = middle + 1;
                length = length - half - 1;
            }
            else
            {
                length = half;
            }
        }
        return first;
    }
}
