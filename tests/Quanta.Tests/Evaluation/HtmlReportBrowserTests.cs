using System.Diagnostics;
using System.Text.RegularExpressions;
using Quanta.Tests.Cli;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Evaluation;

/// <summary>
/// <c>quanta eval --html</c>'s report opened in a real browser: headless Chromium (Debian's <c>chromium</c>, which
/// .ci/run installs) loads the file and dumps the DOM it built, where the three plots must be, each an SVG with its
/// marks: the size plot's Pareto line and candidate markers, a heat-map cell per layer and candidate, a Δp line per
/// candidate. The file must need nothing outside itself.
/// </summary>
public sealed class HtmlReportBrowserTests(TinyTrainedModel model) : IClassFixture<TinyTrainedModel>
{
    [Fact]
    public void The_report_s_plots_are_found_by_a_browser()
    {
        var report = model.Scratch("report.html");
        var run = CliRunner.Run("eval", model.Path("f32"), model.Path("Q4_K_M"), model.Path("Q8_0"), model.Path("Q3_K_M"), "-f", TinyTrainedModel.HeldOut,
            "-c", "256", "--chunks", "1", "-t", "2", "--pp", "0", "--tg", "0", "--html", report);
        Assert.True(run.ExitCode == 0, run.Error);
        var html = File.ReadAllText(report);
        // Self-contained: no script, no stylesheet or image fetched from anywhere.
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(@"(src|href)=""(https?:|//)", html);

        var dom = DumpDom(report);
        Assert.Contains("Quantization report", dom, StringComparison.Ordinal);
        var size = Figure(dom, "kld-vs-size");
        Assert.True(Count(size, "<polyline") >= 1, "no Pareto front line");
        Assert.Contains("Q3_K_M", size, StringComparison.Ordinal);
        Assert.Contains("Pareto front", size, StringComparison.Ordinal);
        var heat = Figure(dom, "layer-heatmap");
        Assert.True(Count(heat, "<polygon") + Count(heat, "<rect") >= 4 * 3, "fewer heat-map cells than layers × candidates");
        var dp = Figure(dom, "dp-distribution");
        Assert.True(Count(dp, "<polyline") >= 3, "fewer Δp lines than candidates");
    }

    /// <summary>The figure's SVG as the browser parsed it.</summary>
    static string Figure(string dom, string id)
    {
        var match = Regex.Match(dom, $@"<figure id=""{id}"">\s*<svg[\s\S]*?</svg>");
        Assert.True(match.Success, $"the browser's DOM has no <figure id=\"{id}\"> holding an <svg>");
        return match.Value;
    }

    static int Count(string text, string element) => Regex.Matches(text, Regex.Escape(element)).Count;

    static string DumpDom(string path)
    {
        var browser = Environment.GetEnvironmentVariable("QUANTA_CHROMIUM") ?? "chromium";
        var start = new ProcessStartInfo(browser)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // As root (CI) Chromium refuses to start without --no-sandbox; the page is our own file.
        foreach (var argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + Path.Combine(Path.GetDirectoryName(path)!, "chromium-profile"), "--dump-dom", new Uri(path).AbsoluteUri })
        {
            start.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"'{browser}' could not be started ({e.Message}); install Debian's chromium (apt-get install chromium) as .ci/run does", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var dom = process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(120_000), "chromium did not finish in 2 minutes");
            Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {stderr.Result}");
            return dom;
        }
    }
}
