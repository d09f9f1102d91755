using System.Globalization;
using System.Text.RegularExpressions;

namespace Quanta.Tests.Inference.Evaluation;

/// <summary>
/// Reads what llama-perplexity prints (the running <c>[i]x,</c> estimates, <c>Final estimate</c>, the per-chunk
/// KL-divergence lines and the statistics blocks) and compares <c>quanta perplexity</c>'s output with it.
/// </summary>
internal static partial class LlamaPerplexityOutput
{
    /// <summary>The running perplexities <c>[1]x,[2]y,...</c>, in order.</summary>
    public static double[] Running(string text) =>
        [.. RunningEstimate().Matches(text).Select(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))];

    /// <summary><c>Final estimate: PPL = X +/- Y</c>.</summary>
    public static (double Value, double Uncertainty) Final(string text)
    {
        var match = FinalEstimate().Match(text);
        Assert.True(match.Success, "no Final estimate line");
        return (double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    public static void AssertRelative(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected), $"{what}: {actual} vs llama-perplexity's {expected}");

    /// <summary>
    /// Every per-chunk line and every line of the statistics blocks (from "====== Perplexity statistics" to "Same
    /// top p"; llama-perplexity prints them only from 100 scored positions on): same label, each number within 3 %
    /// or one unit of its last printed digit. <paramref name="scoredPerChunk"/> sizes the tolerance of the "Same
    /// top p" shares: one position may move, where two logits of our base row and llama.cpp's tie to a uint16 code.
    /// </summary>
    public static void CompareStatistics(string golden, string ours, string name, int scoredPerChunk)
    {
        var expected = StatisticLines(golden);
        var actual = StatisticLines(ours);
        Assert.True(expected.Count > 0, $"{name}: the golden output has no statistics lines");
        Assert.Equal(expected.Count, actual.Count);
        var chunks = expected.Count(l => ChunkLine().IsMatch(l));
        var onePosition = 100.0 / (chunks * scoredPerChunk);
        var baseLine = expected.FirstOrDefault(l => l.StartsWith("Mean PPL(base)", StringComparison.Ordinal));
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            Assert.Equal(Label().Replace(e, "#"), Label().Replace(a, "#"));
            var en = Number().Matches(e).Select(m => m.Value).ToArray();
            var an = Number().Matches(a).Select(m => m.Value).ToArray();
            Assert.Equal(en.Length, an.Length);
            var sameTop = e.StartsWith("Same top p", StringComparison.Ordinal);
            // Differences of two perplexities: each side is reproducible to the 0.01 % the perplexity itself is
            // (our f32 base is not llama.cpp's to the last bit), which is already a large share of so small a difference.
            var difference = e.StartsWith("Mean ln(PPL(Q)/PPL(base))", StringComparison.Ordinal) ? 1e-4
                : e.StartsWith("Mean PPL(Q)-PPL(base)", StringComparison.Ordinal) && baseLine is not null
                    ? 1e-4 * double.Parse(Number().Match(baseLine).Value, CultureInfo.InvariantCulture)
                    : 0;
            var chunkLine = ChunkLine().IsMatch(e);
            var chunk = chunkLine ? int.Parse(e.AsSpan(0, 4).Trim(), CultureInfo.InvariantCulture) : 0;
            for (var k = 0; k < en.Length; k++)
            {
                var x = double.Parse(en[k], CultureInfo.InvariantCulture);
                var y = double.Parse(an[k], CultureInfo.InvariantCulture);
                var unit = Math.Pow(10, -(en[k].Length - en[k].IndexOf('.', StringComparison.Ordinal) - 1));
                var tolerance = Math.Max(0.03 * Math.Abs(x), unit * 1.0001);
                if (sameTop)
                {
                    tolerance = k == 0 ? onePosition * 1.01 : Math.Max(0.01, OnePositionMovesSpread(double.Parse(en[0], CultureInfo.InvariantCulture), chunks * scoredPerChunk));
                }
                else if (chunkLine && k == 2)
                {
                    // A chunk line's third number is ln(PPL(Q)/PPL(base)) again, its ninth the running same-top share.
                    tolerance = Math.Max(tolerance, 1e-4);
                }
                else if (chunkLine && k == 8)
                {
                    tolerance = Math.Max(tolerance, 100.0 / (scoredPerChunk * chunk) * 1.01);
                }
                else if (chunkLine && k == 9)
                {
                    tolerance = Math.Max(tolerance, Math.Max(100.0 / (scoredPerChunk * chunk) * 0.5, OnePositionMovesSpread(double.Parse(en[8], CultureInfo.InvariantCulture), chunk * scoredPerChunk)));
                }
                else if (k == 0)
                {
                    tolerance = Math.Max(tolerance, difference);
                }
                Assert.True(Math.Abs(x - y) <= tolerance, $"{name}: '{a}' vs llama-perplexity's '{e}' (number {k + 1})");
            }
        }
    }

    /// <summary>
    /// How far the printed uncertainty of a share (llama-perplexity: 100·sqrt(p(1−p)/(n−1)), in %) moves when one of
    /// its <paramref name="count"/> positions changes side; steep near 100 %.
    /// </summary>
    static double OnePositionMovesSpread(double percent, int count)
    {
        static double Spread(double p, int n) => p is <= 0 or >= 1 ? 0 : 100 * Math.Sqrt(p * (1 - p) / (n - 1));
        var p = percent / 100;
        var step = 1.0 / count;
        var here = Spread(p, count);
        return 1.1 * Math.Max(Math.Abs(Spread(p - step, count) - here), Math.Abs(Spread(p + step, count) - here)) + 1e-3;
    }

    static List<string> StatisticLines(string text)
    {
        var lines = text.Split('\n');
        var chunkLines = lines.Where(l => ChunkLine().IsMatch(l));
        var start = Array.FindIndex(lines, l => l.StartsWith("====== Perplexity statistics", StringComparison.Ordinal));
        if (start < 0)
        {
            return [.. chunkLines];
        }
        var end = Array.FindIndex(lines, l => l.StartsWith("Same top p", StringComparison.Ordinal));
        return [.. chunkLines, .. lines[start..(end + 1)].Where(l => l.Length > 0)];
    }

    [GeneratedRegex(@"\[(\d+)\](\d+\.\d+),")]
    private static partial Regex RunningEstimate();

    [GeneratedRegex(@"Final estimate: PPL = (\d+\.\d+) \+/- (\d+\.\d+)")]
    private static partial Regex FinalEstimate();

    [GeneratedRegex(@"-?\d+\.\d+")]
    private static partial Regex Number();

    [GeneratedRegex(@"\s*-?\d+\.\d+")]
    private static partial Regex Label();

    [GeneratedRegex(@"^ +\d+ +\d+\.\d+ ± ")]
    private static partial Regex ChunkLine();
}
