using System.Globalization;
using System.Text;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Evaluation;

/// <summary>
/// The running sums of llama-perplexity's <c>--kl-divergence</c> (<c>kl_divergence_result</c> and
/// <c>log_softmax(..., const uint16_t * base_log_prob, ...)</c> in examples/perplexity/perplexity.cpp), with its
/// float/double mix kept, and its two printed forms: the per-chunk line and the closing statistics blocks.
/// </summary>
public sealed class KlDivergenceStatistics
{
    readonly List<float> _kld = [];
    readonly List<float> _probabilityDifference = [];
    double _sumNll;
    double _sumNll2;
    double _sumNllBase;
    double _sumNllBase2;
    double _sumNllNllBase;
    double _sumKld;
    double _sumKld2;
    double _sumPDiff;
    double _sumPDiff2;
    double _sumPDiff4;
    RowScore[] _scores = [];

    /// <summary>Positions scored so far.</summary>
    public long Count { get; private set; }

    /// <summary>Positions where the model's most likely token is the base's.</summary>
    public long SameTop { get; private set; }

    /// <summary>The model's perplexity over the positions scored (llama-perplexity's <c>Mean PPL(Q)</c>).</summary>
    public double ModelPerplexity => Math.Exp(MeanAndUncertainty(_sumNll, _sumNll2).Mean);

    /// <summary>The base's perplexity over the same positions, from the base file (<c>Mean PPL(base)</c>).</summary>
    public double BasePerplexity => Math.Exp(MeanAndUncertainty(_sumNllBase, _sumNllBase2).Mean);

    /// <summary><c>Mean PPL(Q)/PPL(base)</c>: exp of the mean log-ratio.</summary>
    public double PerplexityRatio => Math.Exp(MeanAndUncertainty(_sumNll, _sumNll2).Mean - MeanAndUncertainty(_sumNllBase, _sumNllBase2).Mean);

    /// <summary><c>Mean KLD</c>.</summary>
    public double MeanKlDivergence => MeanAndUncertainty(_sumKld, _sumKld2).Mean;

    /// <summary>A percentile of the per-position KL divergences as llama-perplexity interpolates it (<c>99.0%   KLD</c> for 0.99).</summary>
    public float KlDivergencePercentile(float fraction)
    {
        var sorted = _kld.ToArray();
        Array.Sort(sorted);
        return sorted.Length == 0 ? float.NaN : Percentile(sorted, fraction);
    }

    /// <summary><c>Same top p</c> as a fraction (0..1).</summary>
    public double SameTopFraction => Count == 0 ? double.NaN : (double)SameTop / Count;

    /// <summary><c>RMS Δp</c> as a fraction (0..1).</summary>
    public double RmsProbabilityDifferenceValue => RmsProbabilityDifference().Rms;

    /// <summary>Each scored position's KL divergence, in scoring order.</summary>
    public IReadOnlyList<float> KlDivergences => _kld;

    /// <summary>Each scored position's Δp (the model's probability of the actual next token minus the base's), in scoring order.</summary>
    public IReadOnlyList<float> ProbabilityDifferences => _probabilityDifference;

    /// <summary>Scores one position: the model's logits against the base's compressed row, for the actual next token.</summary>
    public void Add(ReadOnlySpan<float> logits, ReadOnlySpan<ushort> baseRow, int token) => Add(Score(logits, baseRow, token));

    /// <summary>
    /// Scores <paramref name="rows"/> positions at once: row j of <paramref name="logits"/> (<c>[rows][vocabulary]</c>)
    /// against row j of <paramref name="baseRows"/> for <paramref name="tokens"/>[<paramref name="tokenOffset"/> + j], the rows scored on
    /// <paramref name="pool"/>'s threads and then added in row order, so the sums are those of <see cref="Add(ReadOnlySpan{float}, ReadOnlySpan{ushort}, int)"/>
    /// row after row, bit for bit.
    /// </summary>
    internal void AddRows(WorkerPool pool, float[] logits, int vocabulary, ushort[] baseRows, int rowLength, int[] tokens, int tokenOffset, int rows)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(baseRows);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens.Length - tokenOffset, rows);
        if (_scores.Length < rows)
        {
            _scores = new RowScore[rows];
        }
        var scores = _scores;
        new ParallelLoop(pool).For(rows, j =>
            scores[j] = Score(logits.AsSpan(j * vocabulary, vocabulary), baseRows.AsSpan(j * rowLength, rowLength), tokens[tokenOffset + j]));
        for (var j = 0; j < rows; j++)
        {
            Add(scores[j]);
        }
    }

    /// <summary>One position's figures, before they go into the running sums.</summary>
    readonly record struct RowScore(float Nll, float NllBase, double Kld, bool SameTop, float ProbabilityDifference);

    /// <summary>llama-perplexity's <c>log_softmax</c> against a base row, with its float/double mix; touches no state.</summary>
    static RowScore Score(ReadOnlySpan<float> logits, ReadOnlySpan<ushort> baseRow, int token)
    {
        var maxLogit = logits[0];
        var top = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > maxLogit)
            {
                maxLogit = logits[i];
                top = i;
            }
        }
        var logSumExp = (float)Math.Log(LogSoftmax.SumExp(logits, maxLogit));
        var header = System.Runtime.InteropServices.MemoryMarshal.Cast<ushort, float>(baseRow[..4]);
        var scale = header[0];
        var minLogProbability = header[1];
        var codes = baseRow[4..];

        var nll = maxLogit + logSumExp - logits[token];
        var nllBase = -(scale * codes[token] + minLogProbability);

        var logNormalizer = maxLogit + logSumExp;
        var kld = 0.0;
        var topBase = -1;
        var maxLogBase = 0f;
        for (var i = 0; i < logits.Length; i++)
        {
            var logBase = scale * codes[i] + minLogProbability;
            if (i == 0 || logBase > maxLogBase)
            {
                maxLogBase = logBase;
                topBase = i;
            }
            if (logBase > -16f)
            {
                kld += MathF.Exp(logBase) * (logBase - logits[i] + logNormalizer);
            }
        }
        var pDiff = MathF.Exp(-nll) - MathF.Exp(-nllBase);
        return new RowScore(nll, nllBase, kld, top == topBase, pDiff);
    }

    /// <summary>Adds one scored position to the running sums, in the order llama-perplexity's single thread would.</summary>
    void Add(in RowScore score)
    {
        var nll = score.Nll;
        var nllBase = score.NllBase;
        _sumNll += nll;
        _sumNll2 += nll * nll;
        _sumNllBase += nllBase;
        _sumNllBase2 += nllBase * nllBase;
        _sumNllNllBase += nll * nllBase;
        var kld = score.Kld;
        _sumKld += kld;
        _sumKld2 += kld * kld;
        Count++;
        if (score.SameTop)
        {
            SameTop++;
        }
        var pDiff = score.ProbabilityDifference;
        _sumPDiff += pDiff;
        double pDiff2 = pDiff * pDiff;
        _sumPDiff2 += pDiff2;
        _sumPDiff4 += pDiff2 * pDiff2;
        _kld.Add((float)kld);
        _probabilityDifference.Add(pDiff);
    }

    /// <summary>The column heads llama-perplexity prints before each chunk's line.</summary>
    public static string ChunkHeader => "chunk             PPL               ln(PPL(Q)/PPL(base))          KL Divergence              Δp RMS            Same top p";

    /// <summary>The line llama-perplexity prints after chunk <paramref name="chunk"/> (1-based): running figures.</summary>
    public string FormatChunkLine(int chunk)
    {
        var logPpl = MeanAndUncertainty(_sumNll, _sumNll2);
        var ppl = Math.Exp(logPpl.Mean);
        var logPplBase = MeanAndUncertainty(_sumNllBase, _sumNllBase2);
        var covariance = Covariance();
        var ratio = logPpl.Mean - logPplBase.Mean;
        var ratioUncertainty = Math.Sqrt(logPpl.Uncertainty * logPpl.Uncertainty + logPplBase.Uncertainty * logPplBase.Uncertainty - 2.0 * covariance);
        var kl = MeanAndUncertainty(_sumKld, _sumKld2);
        var (rms, rmsUncertainty) = RmsProbabilityDifference();
        var sameTop = (double)SameTop / Count;
        var sameTopUncertainty = Math.Sqrt(sameTop * (1 - sameTop) / (Count - 1));
        return $"{Pad(chunk.ToString(CultureInfo.InvariantCulture), 4)}"
            + $"    {F(ppl, 9, 4)} ± {F(ppl * logPpl.Uncertainty, 9, 4)}"
            + $"    {F(ratio, 10, 5)} ± {F(ratioUncertainty, 10, 5)}"
            + $"    {F(kl.Mean, 10, 5)} ± {F(kl.Uncertainty, 10, 5)}"
            + $"    {F(100.0 * rms, 6, 3)} ± {F(100.0 * rmsUncertainty, 6, 3)} %"
            + $"    {F(100.0 * sameTop, 6, 3)} ± {F(100.0 * sameTopUncertainty, 6, 3)} %";
    }

    /// <summary>
    /// The closing blocks (perplexity, KL divergence and token probability statistics), or null under 100 scored
    /// positions, where llama-perplexity prints none.
    /// </summary>
    public string? FormatReport()
    {
        if (Count < 100)
        {
            return null;
        }
        var kld = _kld.ToArray();
        var pDiff = _probabilityDifference.ToArray();
        Array.Sort(kld);
        Array.Sort(pDiff);
        var text = new StringBuilder();
        text.Append("====== Perplexity statistics ======\n");
        var logPpl = MeanAndUncertainty(_sumNll, _sumNll2);
        var ppl = Math.Exp(logPpl.Mean);
        var pplUncertainty = ppl * logPpl.Uncertainty;
        text.Append($"Mean PPL(Q)                   : {F(ppl, 10, 6)} ± {F(pplUncertainty, 10, 6)}\n");
        var logPplBase = MeanAndUncertainty(_sumNllBase, _sumNllBase2);
        var pplBase = Math.Exp(logPplBase.Mean);
        var pplBaseUncertainty = pplBase * logPplBase.Uncertainty;
        text.Append($"Mean PPL(base)                : {F(pplBase, 10, 6)} ± {F(pplBaseUncertainty, 10, 6)}\n");
        var covariance = Covariance();
        var correlation = covariance / (logPpl.Uncertainty * logPplBase.Uncertainty);
        text.Append($"Cor(ln(PPL(Q)), ln(PPL(base))): {F(100.0 * correlation, 6, 2)}%\n");
        var ratio = logPpl.Mean - logPplBase.Mean;
        var ratioUncertainty = Math.Sqrt(logPpl.Uncertainty * logPpl.Uncertainty + logPplBase.Uncertainty * logPplBase.Uncertainty - 2.0 * covariance);
        text.Append($"Mean ln(PPL(Q)/PPL(base))     : {F(ratio, 10, 6)} ± {F(ratioUncertainty, 10, 6)}\n");
        var pplRatio = Math.Exp(ratio);
        text.Append($"Mean PPL(Q)/PPL(base)         : {F(pplRatio, 10, 6)} ± {F(pplRatio * ratioUncertainty, 10, 6)}\n");
        var pplCovariance = ppl * pplBase * covariance;
        var difference = Math.Sqrt(pplUncertainty * pplUncertainty + pplBaseUncertainty * pplBaseUncertainty - 2.0 * pplCovariance);
        text.Append($"Mean PPL(Q)-PPL(base)         : {F(ppl - pplBase, 10, 6)} ± {F(difference, 10, 6)}\n");
        text.Append('\n');

        text.Append("====== KL divergence statistics ======\n");
        var kl = MeanAndUncertainty(_sumKld, _sumKld2);
        text.Append($"Mean    KLD: {F(kl.Mean, 10, 6)} ± {F(kl.Uncertainty, 10, 6)}\n");
        text.Append($"Maximum KLD: {F(kld[^1], 10, 6)}\n");
        text.Append($"99.9%   KLD: {F(Percentile(kld, 0.999f), 10, 6)}\n");
        text.Append($"99.0%   KLD: {F(Percentile(kld, 0.990f), 10, 6)}\n");
        // llama-perplexity prints the 99th percentile twice (where 95 % was surely meant); kept so outputs compare line by line.
        text.Append($"99.0%   KLD: {F(Percentile(kld, 0.990f), 10, 6)}\n");
        text.Append($"Median  KLD: {F(Median(kld), 10, 6)}\n");
        text.Append($"10.0%   KLD: {F(Percentile(kld, 0.100f), 10, 6)}\n");
        text.Append($" 5.0%   KLD: {F(Percentile(kld, 0.050f), 10, 6)}\n");
        text.Append($" 1.0%   KLD: {F(Percentile(kld, 0.010f), 10, 6)}\n");
        text.Append($"Minimum KLD: {F(kld[0], 10, 6)}\n");
        text.Append('\n');

        text.Append("====== Token probability statistics ======\n");
        var meanDiff = MeanAndUncertainty(_sumPDiff, _sumPDiff2);
        text.Append($"Mean    Δp: {F(100.0 * meanDiff.Mean, 6, 3)} ± {F(100.0 * meanDiff.Uncertainty, 5, 3)} %\n");
        text.Append($"Maximum Δp: {F(100.0 * pDiff[^1], 6, 3)}%\n");
        foreach (var (label, fraction) in new[] { ("99.9%", 0.999f), ("99.0%", 0.990f), ("95.0%", 0.950f), ("90.0%", 0.900f), ("75.0%", 0.750f) })
        {
            text.Append($"{label}   Δp: {F(100.0 * Percentile(pDiff, fraction), 6, 3)}%\n");
        }
        text.Append($"Median  Δp: {F(100.0 * Median(pDiff), 6, 3)}%\n");
        foreach (var (label, fraction) in new[] { ("25.0%", 0.250f), ("10.0%", 0.100f), (" 5.0%", 0.050f), (" 1.0%", 0.010f), (" 0.1%", 0.001f) })
        {
            text.Append($"{label}   Δp: {F(100.0 * Percentile(pDiff, fraction), 6, 3)}%\n");
        }
        text.Append($"Minimum Δp: {F(100.0 * pDiff[0], 6, 3)}%\n");
        var (rms, rmsUncertainty) = RmsProbabilityDifference();
        text.Append($"RMS Δp    : {F(100.0 * rms, 6, 3)} ± {F(100.0 * rmsUncertainty, 5, 3)} %\n");
        var sameTop = (double)SameTop / Count;
        text.Append($"Same top p: {F(100.0 * sameTop, 6, 3)} ± {F(100.0 * Math.Sqrt(sameTop * (1.0 - sameTop) / (Count - 1)), 5, 3)} %\n");
        return text.ToString();
    }

    (double Mean, double Uncertainty) MeanAndUncertainty(double sum, double sum2)
    {
        if (Count < 1)
        {
            return (0, 0);
        }
        var mean = sum / Count;
        var variance = sum2 / Count - mean * mean;
        return (mean, variance > 0 && Count > 10 ? Math.Sqrt(variance / (Count - 1)) : 0);
    }

    double Covariance()
    {
        if (Count < 10)
        {
            return 0;
        }
        var covariance = _sumNllNllBase / Count - _sumNll / Count * (_sumNllBase / Count);
        return covariance / (Count - 1);
    }

    (double Rms, double Uncertainty) RmsProbabilityDifference()
    {
        var mse = MeanAndUncertainty(_sumPDiff2, _sumPDiff4);
        var rms = Math.Sqrt(mse.Mean);
        return (rms, 0.5 / rms * mse.Uncertainty);
    }

    // Its percentile interpolates in float, the position included.
    static float Percentile(float[] sorted, float fraction)
    {
        var p = fraction * (sorted.Length - 1);
        var index = (int)p;
        p -= index;
        return (1 - p) * sorted[index] + p * sorted[Math.Min(index + 1, sorted.Length - 1)];
    }

    static float Median(float[] sorted) => sorted.Length % 2 == 0
        ? 0.5f * (sorted[sorted.Length / 2] + sorted[sorted.Length / 2 - 1])
        : sorted[sorted.Length / 2];

    /// <summary>printf's <c>%W.Plf</c>.</summary>
    internal static string F(double value, int width, int decimals) =>
        Pad(value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), width);

    static string Pad(string text, int width) => text.PadLeft(width);
}
