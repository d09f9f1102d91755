using System.Text;
using System.Text.Json;

namespace Quanta.Evaluation;

/// <summary>
/// <c>quanta eval --json</c>: <c>{"base": {...}, "candidates": [{"file", "size", "bpw", "ppl", "ppl_ratio",
/// "kld_mean", "kld_p99", "same_top_p", "rms_dp", "pp_tps", "tg_tps"}]}</c>, snake_case, numbers as numbers
/// (bytes, bits, fractions 0..1; a speed not measured is null).
/// </summary>
public static class EvaluationJson
{
    public static string Format(EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("base");
            WriteFile(writer, report.Base.File);
            writer.WriteNumber("ppl", report.Base.Perplexity);
            WriteSpeed(writer, report.Base.Speed);
            writer.WriteEndObject();
            writer.WriteStartArray("candidates");
            foreach (var candidate in report.Candidates)
            {
                writer.WriteStartObject();
                WriteFile(writer, candidate.File);
                writer.WriteNumber("ppl", candidate.Perplexity);
                writer.WriteNumber("ppl_ratio", candidate.PerplexityRatio);
                writer.WriteNumber("kld_mean", candidate.MeanKlDivergence);
                writer.WriteNumber("kld_p99", candidate.KlDivergenceP99);
                writer.WriteNumber("same_top_p", candidate.SameTopFraction);
                writer.WriteNumber("rms_dp", candidate.RmsProbabilityDifference);
                WriteSpeed(writer, candidate.Speed);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    static void WriteFile(Utf8JsonWriter writer, ModelFileFacts file)
    {
        writer.WriteString("file", file.Path);
        writer.WriteNumber("size", file.Size);
        writer.WriteNumber("bpw", file.BitsPerWeight);
    }

    static void WriteSpeed(Utf8JsonWriter writer, TokenSpeed? speed)
    {
        WriteRate(writer, "pp_tps", speed?.PromptTokensPerSecond);
        WriteRate(writer, "tg_tps", speed?.GenerationTokensPerSecond);
    }

    static void WriteRate(Utf8JsonWriter writer, string name, double? rate)
    {
        if (rate is { } r && double.IsFinite(r))
        {
            writer.WriteNumber(name, r);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
