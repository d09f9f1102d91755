using System.Globalization;
using System.Net;
using System.Text;
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace Quanta.Evaluation;

/// <summary>
/// <c>quanta eval --html</c>: one self-contained HTML file (no script, no external resource) with the table and
/// three plots drawn by OxyPlot and exported as inline SVG: mean KL divergence against file size with the Pareto
/// front marked, the per-layer error heat map, and the distribution of Δp (the change in the probability of the
/// actual next token).
/// </summary>
public static class HtmlReport
{
    const double Width = 760;
    const double Height = 420;

    public static string Format(EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>quanta eval</title>\n<style>\n")
            .Append("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}")
            .Append("td:first-child,th:first-child{text-align:left}figure{margin:2em 0}figcaption{color:#555;max-width:760px}\n</style>\n</head>\n<body>\n");
        html.Append("<h1>Quantization report</h1>\n");
        html.Append(CultureInfo.InvariantCulture, $"<p>Base <b>{Encode(Path.GetFileName(report.Base.File.Path))}</b>, {report.Chunks} chunks of {report.Context} tokens, {report.ScoredPositions} positions scored (llama-perplexity's method).</p>\n");
        html.Append(Table(report));
        Figure(html, "kld-vs-size", SizePlot(report),
            "Mean KL divergence from the base against file size. The Pareto front (red) joins the candidates no other candidate beats on both.");
        if (HeatMap(report) is { } heatMap)
        {
            Figure(html, "layer-heatmap", heatMap.Model, heatMap.Caption);
        }
        Figure(html, "dp-distribution", ProbabilityDifferencePlot(report),
            "Distribution of Δp: each scored position's probability of the actual next token under the candidate minus under the base, in percentage points.");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    static string Table(EvaluationReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var table = new StringBuilder("<table>\n<tr><th>model</th><th>size (MiB)</th><th>bpw</th><th>PPL</th><th>PPL ratio</th><th>mean KLD</th><th>KLD p99</th><th>same top p</th><th>RMS Δp</th><th>pp t/s</th><th>tg t/s</th></tr>\n");
        var b = report.Base;
        table.Append(c, $"<tr><td>{Encode(Path.GetFileName(b.File.Path))} (base)</td><td>{b.File.Size / 1048576.0:F2}</td><td>{b.File.BitsPerWeight:F2}</td><td>{b.Perplexity:F4}</td><td></td><td></td><td></td><td></td><td></td><td>{Rate(b.Speed?.PromptTokensPerSecond)}</td><td>{Rate(b.Speed?.GenerationTokensPerSecond)}</td></tr>\n");
        foreach (var x in report.Candidates)
        {
            table.Append(c, $"<tr><td>{Encode(Path.GetFileName(x.File.Path))}</td><td>{x.File.Size / 1048576.0:F2}</td><td>{x.File.BitsPerWeight:F2}</td><td>{x.Perplexity:F4}</td><td>{x.PerplexityRatio:F6}</td><td>{x.MeanKlDivergence:F6}</td><td>{x.KlDivergenceP99:F6}</td><td>{100 * x.SameTopFraction:F3} %</td><td>{100 * x.RmsProbabilityDifference:F3} %</td><td>{Rate(x.Speed?.PromptTokensPerSecond)}</td><td>{Rate(x.Speed?.GenerationTokensPerSecond)}</td></tr>\n");
        }
        return table.Append("</table>\n").ToString();
    }

    static string Rate(double? rate) => rate is { } r && double.IsFinite(r) ? r.ToString("F2", CultureInfo.InvariantCulture) : "";

    static void Figure(StringBuilder html, string id, PlotModel model, string caption)
    {
        var svg = new SvgExporter { Width = Width, Height = Height, IsDocument = false }.ExportToString(model);
        // The exporter may lead with an XML declaration, which has no place inside an HTML document.
        if (svg.StartsWith("<?xml", StringComparison.Ordinal))
        {
            svg = svg[(svg.IndexOf("?>", StringComparison.Ordinal) + 2)..].TrimStart();
        }
        html.Append(CultureInfo.InvariantCulture, $"<figure id=\"{id}\">\n{svg}\n<figcaption>{Encode(caption)}</figcaption>\n</figure>\n");
    }

    static PlotModel SizePlot(EvaluationReport report)
    {
        var model = new PlotModel { Title = "KL divergence vs size" };
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "file size (MiB)", MajorGridlineStyle = LineStyle.Dot, MinimumPadding = 0.08, MaximumPadding = 0.08 });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "mean KL divergence", Minimum = 0, MaximumPadding = 0.1, MajorGridlineStyle = LineStyle.Dot });
        var points = new ScatterSeries { Title = "candidates", MarkerType = MarkerType.Circle, MarkerSize = 5, MarkerFill = OxyColors.SteelBlue };
        foreach (var x in report.Candidates)
        {
            var size = x.File.Size / 1048576.0;
            points.Points.Add(new ScatterPoint(size, x.MeanKlDivergence));
            model.Annotations.Add(new TextAnnotation
            {
                Text = Path.GetFileNameWithoutExtension(x.File.Path),
                TextPosition = new DataPoint(size, x.MeanKlDivergence),
                TextVerticalAlignment = VerticalAlignment.Bottom,
                Stroke = OxyColors.Transparent,
                FontSize = 10,
            });
        }
        var front = new LineSeries { Title = "Pareto front", Color = OxyColors.Firebrick, StrokeThickness = 1.5, MarkerType = MarkerType.Diamond, MarkerSize = 6, MarkerFill = OxyColors.Firebrick };
        foreach (var i in ParetoFront.Of(report.Candidates))
        {
            front.Points.Add(new DataPoint(report.Candidates[i].File.Size / 1048576.0, report.Candidates[i].MeanKlDivergence));
        }
        model.Series.Add(front);
        model.Series.Add(points);
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.TopRight });
        return model;
    }

    /// <summary>
    /// Candidates × layers: the KL divergence with only that layer quantized when <c>--per-layer</c> measured it,
    /// otherwise the mean relative RMSE of the layer's tensors. Null when neither was measured.
    /// </summary>
    static (PlotModel Model, string Caption)? HeatMap(EvaluationReport report)
    {
        var byKld = report.Candidates.All(x => x.Layers.Count > 0);
        var layerCount = byKld
            ? report.Candidates.Max(x => x.Layers.Count)
            : report.Candidates.SelectMany(x => x.Tensors).Select(t => t.Layer ?? -1).DefaultIfEmpty(-1).Max() + 1;
        if (report.Candidates.Count == 0 || layerCount <= 0)
        {
            return null;
        }
        var data = new double[layerCount, report.Candidates.Count];
        for (var j = 0; j < report.Candidates.Count; j++)
        {
            var x = report.Candidates[j];
            for (var layer = 0; layer < layerCount; layer++)
            {
                data[layer, j] = byKld
                    ? x.Layers.FirstOrDefault(l => l.Layer == layer)?.MeanKlDivergence ?? double.NaN
                    : x.Tensors.Where(t => t.Layer == layer).Select(t => t.RelativeRmse).DefaultIfEmpty(double.NaN).Average();
            }
        }
        var what = byKld ? "mean KLD, only this layer quantized" : "mean relative RMSE of the layer's tensors";
        var names = report.Candidates.Select(x => Path.GetFileNameWithoutExtension(x.File.Path)).ToArray();
        var model = new PlotModel { Title = "Error per layer" };
        model.Axes.Add(new LinearColorAxis { Position = AxisPosition.Right, Palette = OxyPalettes.Hot(200).Reverse(), Title = what });
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "layer", MajorStep = 1, MinorStep = 1, Minimum = -0.5, Maximum = layerCount - 0.5 });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left,
            MajorStep = 1,
            MinorStep = 1,
            Minimum = -0.5,
            Maximum = names.Length - 0.5,
            LabelFormatter = v => Math.Round(v) is var i && i >= 0 && i < names.Length && Math.Abs(v - i) < 1e-6 ? names[(int)i] : "",
        });
        model.Series.Add(new HeatMapSeries
        {
            X0 = 0,
            X1 = layerCount - 1,
            Y0 = 0,
            Y1 = names.Length - 1,
            Data = data,
            CoordinateDefinition = HeatMapCoordinateDefinition.Center,
            RenderMethod = HeatMapRenderMethod.Rectangles,
            Interpolate = false,
        });
        return (model, $"Error per layer and candidate ({what}); darker is worse.");
    }

    static PlotModel ProbabilityDifferencePlot(EvaluationReport report)
    {
        const int bins = 41;
        var model = new PlotModel { Title = "Δp distribution" };
        var all = report.Candidates.SelectMany(x => x.ProbabilityDifferences);
        var extent = 100 * all.Select(v => Math.Abs((double)v)).DefaultIfEmpty(0).Max();
        extent = extent > 0 ? extent : 1;
        var width = 2 * extent / bins;
        model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "Δp (percentage points)", Minimum = -extent, Maximum = extent, MajorGridlineStyle = LineStyle.Dot });
        model.Axes.Add(new LogarithmicAxis { Position = AxisPosition.Left, Title = "share of positions", MajorGridlineStyle = LineStyle.Dot });
        foreach (var x in report.Candidates)
        {
            var counts = new int[bins];
            foreach (var v in x.ProbabilityDifferences)
            {
                counts[Math.Clamp((int)((100 * v + extent) / width), 0, bins - 1)]++;
            }
            var line = new LineSeries { Title = Path.GetFileNameWithoutExtension(x.File.Path), MarkerType = MarkerType.Circle, MarkerSize = 2 };
            for (var i = 0; i < bins; i++)
            {
                if (counts[i] > 0)
                {
                    line.Points.Add(new DataPoint(-extent + (i + 0.5) * width, (double)counts[i] / x.ProbabilityDifferences.Count));
                }
            }
            model.Series.Add(line);
        }
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.TopRight });
        return model;
    }

    static string Encode(string text) => WebUtility.HtmlEncode(text);
}
