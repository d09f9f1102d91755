using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Quanta.Inference.Vision;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta vision-check BASE QUANT [--images DIR] [--save-embeddings DIR] [--json]</c>: does the quantized
/// model still see? The built-in test patterns (and the pictures in DIR) go through both vision paths; per picture
/// the cosine similarity and relative error after the tower and after the projector, a verdict (<c>ok</c> ≥ 0.99,
/// <c>degraded</c> ≥ 0.95, <c>broken</c> below or not finite) and the component that lost most. BASE and QUANT may also be
/// a text model with its projector (<c>--mmproj</c>, <c>--quant-mmproj</c>) or a model of the store; when both sides
/// have a language model, the KL divergence of their next token on a captioning prompt with the picture too.
/// </summary>
internal static class VisionCheckCommand
{
    static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"];

    public static Command Create(CliContext context)
    {
        var baseline = CliArguments.InputPath("BASE", "The reference: a projector file (mmproj-*.gguf), a single-file gemma3 GGUF, a text model with --mmproj, or a model of the store");
        var quantized = CliArguments.InputPath("QUANT", "The model to check, in any of BASE's forms (not with --sweep)");
        quantized.Arity = ArgumentArity.ZeroOrOne;
        var sweep = new Option<bool>("--sweep") { Description = "Measure the per-component policy: BASE's tower, then its projector, re-encoded to F16, Q8_0, Q6_K and Q4_K; similarity against size" };
        var mmproj = new Option<string>("--mmproj") { Description = "BASE's projector when BASE is a text model (and QUANT's when QUANT is a text model without --quant-mmproj)", HelpName = "FILE" };
        var quantMmproj = new Option<string>("--quant-mmproj") { Description = "QUANT's projector when QUANT is a text model", HelpName = "FILE" };
        var store = StoreArguments.StoreOption();
        var images = new Option<string>("--images") { Description = "Also check the pictures in this folder (PNG, JPEG, WebP, BMP, GIF)", HelpName = "DIR" };
        var save = new Option<string>("--save-embeddings") { Description = "Write each picture's projected embeddings as float32 [tokens][width]: <stem>.base.f32, <stem>.quant.f32", HelpName = "DIR" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (default: all processors)" };
        var command = new Command("vision-check", "Check that a quantized vision tower and projector still see: similarity to the base per picture")
        {
            baseline, quantized, images, save, json, threads, mmproj, quantMmproj, sweep, store,
        };
        command.Validators.Add(result =>
        {
            var hasQuant = result.GetValue(quantized) is not null;
            if (result.GetValue(sweep) == hasQuant)
            {
                result.AddError(hasQuant ? "--sweep checks BASE alone: give no QUANT" : "QUANT is missing (or give --sweep to measure BASE's components)");
            }
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            var basePath = parseResult.GetRequiredValue(baseline);
            var quantPath = parseResult.GetValue(quantized);
            if (parseResult.GetValue(sweep))
            {
                using var side = VisionCheckSide.Open(basePath, parseResult.GetValue(mmproj), null, () => StoreArguments.Open(parseResult, store), parseResult.GetValue(threads));
                var rows = VisionSweep.Run(side.VisionFile, Path.GetTempPath(), parseResult.GetValue(threads), cancellationToken);
                context.Out.Write(parseResult.GetValue(json) ? SweepJson(basePath, rows) : SweepTable(rows));
                return Task.FromResult(ExitCodes.Success);
            }
            ArgumentNullException.ThrowIfNull(quantPath);
            var imageDirectory = parseResult.GetValue(images);
            var saveDirectory = parseResult.GetValue(save);
            var threadCount = parseResult.GetValue(threads);
            if (threadCount < 0)
            {
                throw new UserErrorException($"--threads must be positive, not {threadCount}");
            }
            var userImages = new List<string>();
            if (imageDirectory is not null)
            {
                if (!Directory.Exists(imageDirectory))
                {
                    throw new UserErrorException($"--images: no folder '{imageDirectory}'");
                }
                userImages.AddRange(Directory.EnumerateFiles(imageDirectory)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .Order(StringComparer.Ordinal));
            }
            if (saveDirectory is not null && !Directory.Exists(saveDirectory))
            {
                throw new UserErrorException($"--save-embeddings: no folder '{saveDirectory}'");
            }
            var pictures = VisionCheck.Images(userImages);
            var baseProjector = parseResult.GetValue(mmproj);
            using var baseSide = VisionCheckSide.Open(basePath, baseProjector, null, () => StoreArguments.Open(parseResult, store), threadCount);
            using var quantSide = VisionCheckSide.Open(quantPath, parseResult.GetValue(quantMmproj), baseProjector, () => StoreArguments.Open(parseResult, store), threadCount);
            var (baseModel, quantModel) = (baseSide.Vision, quantSide.Vision);
            var results = new List<VisionImageCheck>();
            foreach (var (name, picture) in pictures)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Action<VisionEmbedding, VisionEmbedding>? saver = saveDirectory is null ? null : (b, q) =>
                {
                    VisionCheck.SaveEmbeddings(Path.Combine(saveDirectory, name + ".base.f32"), b);
                    VisionCheck.SaveEmbeddings(Path.Combine(saveDirectory, name + ".quant.f32"), q);
                };
                try
                {
                    results.Add(VisionCheck.Compare(name, picture, baseModel, quantModel, baseSide.Probe, quantSide.Probe, saver, cancellationToken));
                }
                catch (InvalidOperationException e)
                {
                    throw new UserErrorException($"{basePath} and {quantPath}: {e.Message}", e);
                }
            }
            context.Out.Write(parseResult.GetValue(json) ? Json(basePath, quantPath, results) : Table(results));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    static string SweepTable(IReadOnlyList<VisionSweepRow> rows)
    {
        var text = new StringBuilder("component  type  size (MiB)  lowest cos  verdict   kept\n");
        foreach (var r in rows)
        {
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{r.Component,-9}  {Formats.GgmlTypeInfo.Of(r.Type).Name,-4}  {r.Bytes / 1048576.0,10:F3}  {Six(r.LowestSimilarity),10}  {VisionCheck.Word(r.Verdict),-8}  {r.KeptTensors,4}\n"));
        }
        return text.ToString();
    }

    static string SweepJson(string basePath, IReadOnlyList<VisionSweepRow> rows)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("base", basePath);
            writer.WriteStartArray("sweep");
            foreach (var r in rows)
            {
                writer.WriteStartObject();
                writer.WriteString("component", r.Component);
                writer.WriteString("type", Formats.GgmlTypeInfo.Of(r.Type).Name);
                writer.WriteNumber("bytes", r.Bytes);
                writer.WritePropertyName("lowest_similarity");
                WriteDecimal(writer, r.LowestSimilarity);
                writer.WriteString("verdict", VisionCheck.Word(r.Verdict));
                writer.WriteNumber("kept_tensors", r.KeptTensors);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>Similarities with six decimals (<c>1.000000</c>); <c>nan</c> when not finite.</summary>
    static string Six(double value) => double.IsFinite(value) ? value.ToString("F6", CultureInfo.InvariantCulture) : "nan";

    static (VisionVerdict Verdict, VisionImageCheck Worst, string LostMost) Overall(List<VisionImageCheck> results)
    {
        var worst = results.OrderByDescending(r => r.Verdict).ThenBy(r => double.IsNaN(r.Projected.Cosine) ? double.NegativeInfinity : Math.Min(r.Tower.Cosine, r.Projected.Cosine)).First();
        double towerLoss = 0, projectorLoss = 0;
        foreach (var r in results)
        {
            towerLoss += double.IsNaN(r.TowerLoss) || !r.Tower.IsFinite ? double.PositiveInfinity : r.TowerLoss;
            projectorLoss += double.IsNaN(r.ProjectorLoss) ? double.PositiveInfinity : r.ProjectorLoss;
        }
        return (worst.Verdict, worst, towerLoss >= projectorLoss ? "tower" : "projector");
    }

    static string Table(List<VisionImageCheck> results)
    {
        var nameWidth = Math.Max(5, results.Max(r => r.Name.Length));
        var text = new StringBuilder();
        var kl = results.Any(r => r.NextTokenKl is not null);
        text.Append(CultureInfo.InvariantCulture, $"{"image".PadRight(nameWidth)}  tokens  tower cos  tower rel.err  projected cos  projected rel.err  verdict   lost most{(kl ? "  next-token KL" : "")}\n");
        foreach (var r in results)
        {
            var klColumn = r.NextTokenKl is { } k ? "  " + Six(k).PadLeft(13) : "";
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{r.Name.PadRight(nameWidth)}  {r.Tokens,6}  {Six(r.Tower.Cosine),9}  {Six(r.Tower.RelativeError),13}  {Six(r.Projected.Cosine),13}  {Six(r.Projected.RelativeError),17}  {VisionCheck.Word(r.Verdict),-8}  {r.LostMost,-9}{klColumn}").TrimEnd());
            text.Append('\n');
        }
        var (verdict, worst, lostMost) = Overall(results);
        text.Append(CultureInfo.InvariantCulture,
            $"overall: {VisionCheck.Word(verdict)} (lowest similarity {Six(Math.Min(worst.Tower.Cosine, worst.Projected.Cosine))} on {worst.Name}; the {lostMost} lost most)\n");
        return text.ToString();
    }

    static string Json(string basePath, string quantPath, List<VisionImageCheck> results)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("base", basePath);
            writer.WriteString("quant", quantPath);
            writer.WriteStartArray("images");
            foreach (var r in results)
            {
                writer.WriteStartObject();
                writer.WriteString("image", r.Name);
                writer.WriteNumber("tokens", r.Tokens);
                WriteSimilarity(writer, "tower", r.Tower);
                WriteSimilarity(writer, "projected", r.Projected);
                writer.WriteString("verdict", VisionCheck.Word(r.Verdict));
                writer.WriteString("lost_most", r.LostMost);
                if (r.NextTokenKl is { } k)
                {
                    writer.WritePropertyName("next_token_kl");
                    WriteDecimal(writer, k);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            var (verdict, worst, lostMost) = Overall(results);
            writer.WriteStartObject("overall");
            writer.WriteString("verdict", VisionCheck.Word(verdict));
            writer.WritePropertyName("lowest_similarity");
            WriteDecimal(writer, Math.Min(worst.Tower.Cosine, worst.Projected.Cosine));
            writer.WriteString("image", worst.Name);
            writer.WriteString("lost_most", lostMost);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    static void WriteSimilarity(Utf8JsonWriter writer, string name, Similarity similarity)
    {
        writer.WriteStartObject(name);
        writer.WritePropertyName("cosine");
        WriteDecimal(writer, similarity.Cosine);
        writer.WritePropertyName("relative_error");
        WriteDecimal(writer, similarity.RelativeError);
        writer.WriteEndObject();
    }

    // Six decimal places in the JSON too (1.000000, not 1); null when not finite (JSON has no NaN).
    static void WriteDecimal(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteRawValue(Six(value));
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
