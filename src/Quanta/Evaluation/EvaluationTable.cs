using System.Globalization;
using System.Text;

namespace Quanta.Evaluation;

/// <summary>
/// <c>quanta eval</c>'s text report: one markdown row per model (the base first), in llama-perplexity's units
/// (KLD as printed by <c>Mean KLD</c> / <c>99.0% KLD</c>, same top p and RMS Δp in percent), then, when measured,
/// the per-tensor and per-layer views.
/// </summary>
public static class EvaluationTable
{
    public static string Format(EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(c, $"{report.Chunks} chunks of {report.Context} tokens, {report.ScoredPositions} positions scored\n\n");
        text.Append("| model | size | bpw | PPL | PPL ratio | mean KLD | KLD p99 | same top p | RMS Δp | pp t/s | tg t/s |\n");
        text.Append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        var b = report.Base;
        text.Append(c, $"| {Path.GetFileName(b.File.Path)} (base) | {Mib(b.File.Size)} | {b.File.BitsPerWeight:F2} | {b.Perplexity:F4} | — | — | — | — | — | {Speed(b.Speed, true)} | {Speed(b.Speed, false)} |\n");
        foreach (var x in report.Candidates)
        {
            text.Append(c, $"| {Path.GetFileName(x.File.Path)} | {Mib(x.File.Size)} | {x.File.BitsPerWeight:F2} | {x.Perplexity:F4} | {x.PerplexityRatio:F6} | {x.MeanKlDivergence:F6} | {x.KlDivergenceP99:F6} | {100 * x.SameTopFraction:F3} % | {100 * x.RmsProbabilityDifference:F3} % | {Speed(x.Speed, true)} | {Speed(x.Speed, false)} |\n");
        }
        foreach (var x in report.Candidates.Where(x => x.Tensors.Count > 0))
        {
            text.Append(c, $"\n{Path.GetFileName(x.File.Path)}: error of each tensor against the base (relative to the base tensor's RMS)\n\n");
            text.Append("| tensor | type | RMSE | max error |\n| --- | --- | ---: | ---: |\n");
            foreach (var t in x.Tensors)
            {
                text.Append(c, $"| {t.Name} | {Formats.GgmlTypeInfo.Of(t.Type).Name} | {t.RelativeRmse:F6} | {t.RelativeMaxError:F4} |\n");
            }
        }
        foreach (var x in report.Candidates.Where(x => x.Layers.Count > 0))
        {
            text.Append(c, $"\n{Path.GetFileName(x.File.Path)}: mean KLD with only one layer quantized (the rest from the base)\n\n");
            text.Append("| layer | mean KLD |\n| ---: | ---: |\n");
            foreach (var l in x.Layers)
            {
                text.Append(c, $"| {l.Layer} | {l.MeanKlDivergence:F6} |\n");
            }
        }
        return text.ToString();
    }

    static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0 / 1024.0:F2} MiB");

    static string Speed(TokenSpeed? speed, bool prompt) =>
        speed is { } s && (prompt ? s.PromptTokensPerSecond : s.GenerationTokensPerSecond) is var rate && double.IsFinite(rate)
            ? rate.ToString("F2", CultureInfo.InvariantCulture)
            : "—";
}
