using System.Numerics;

namespace Quanta.Codecs.Search;

/// <summary>The steps ggml's three IQ2 quantizers share around the scale search, each in ggml's order of operations.</summary>
internal static class Iq2Encoding
{
    /// <summary><c>Σx²</c> over the super-block, summed in order (IQ2_XXS and IQ2_XS divide it by QK_K, IQ2_S doubles it first).</summary>
    public static float SumSquares(ReadOnlySpan<float> x)
    {
        float sumx2 = 0;
        for (var i = 0; i < x.Length; ++i)
        {
            sumx2 += x[i] * x[i];
        }
        return sumx2;
    }

    /// <summary>Fit weights <c>qw·sqrt(σ² + x²)</c> and their square roots (the neighbour search's weights).</summary>
    public static void ImportanceWeights(
        ReadOnlySpan<float> xb, ReadOnlySpan<float> importance, float sigma2, Span<float> weight, Span<float> waux)
    {
        for (var i = 0; i < xb.Length; ++i)
        {
            weight[i] = importance[i] * MathF.Sqrt(sigma2 + xb[i] * xb[i]);
        }
        SquareRoots(weight, waux);
    }

    /// <summary><c>waux[i] = sqrtf(weight[i])</c>.</summary>
    public static void SquareRoots(ReadOnlySpan<float> weight, Span<float> waux)
    {
        for (var i = 0; i < weight.Length; ++i)
        {
            waux[i] = MathF.Sqrt(weight[i]);
        }
    }

    /// <summary>
    /// Magnitudes and the 7 stored sign bits of eight values whose count of minus signs must be even (IQ2_XXS,
    /// IQ2_XS: the eighth bit is implied): when it is odd, the value that costs least to flip, (w·x)·x smallest,
    /// first on ties, is flipped.
    /// </summary>
    public static byte EvenSigns(ReadOnlySpan<float> xb, ReadOnlySpan<float> weight, Span<float> xval)
    {
        var s = Iq3Encoding.SplitSigns(xb, xval);
        if (BitOperations.PopCount((uint)s) % 2 != 0)
        {
            var imin = 0;
            var min = weight[0] * xb[0] * xb[0];
            for (var i = 1; i < 8; ++i)
            {
                var ax = weight[i] * xb[i] * xb[i];
                if (ax < min)
                {
                    min = ax;
                    imin = i;
                }
            }
            xval[imin] = -xval[imin];
            s ^= 1 << imin;
        }
        return (byte)(s & 127);
    }

    /// <summary>
    /// A negative importance weight makes ggml's neighbour weights NaN (square root of a negative), and its search
    /// then aborts; Quanta says so before writing the block.
    /// </summary>
    public static void RejectNegative(ReadOnlySpan<float> importance)
    {
        for (var i = 0; i < importance.Length; ++i)
        {
            if (importance[i] < 0)
            {
                throw new ArgumentException($"importance weight {i} of a block is {importance[i]}; IQ2 formats need weights of at least zero", nameof(importance));
            }
        }
    }
}
