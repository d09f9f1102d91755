using System.Globalization;
using Quanta.Formats;
using Quanta.Quantization;
using Spectre.Console;

namespace Quanta.Cli.Rendering;

/// <summary>
/// How a running quantization shows itself on stderr: a live Spectre.Console bar on a terminal (tensor i/n,
/// bytes, rate, time left), otherwise one plain line per finished tensor, which logs and CI output keep.
/// </summary>
internal static class QuantizeProgress
{
    /// <summary>
    /// Runs a convert or quantize job as the CLI shows it (a bar on a terminal, else a plain line per tensor on
    /// stderr), then writes its summary for <paramref name="input"/> to the report writer. A
    /// <see cref="QuantizationException"/> becomes a <see cref="UserErrorException"/> with its message.
    /// </summary>
    public static void RunAndReport(CliContext context, QuantizationJob job, string input, CancellationToken cancellationToken, InputTensors? inputTensors = null)
    {
        inputTensors ??= InputTensors.AsPlanned;
        QuantizationResult result;
        try
        {
            result = context.ErrorIsTerminal
                ? RunWithBar(context, job, cancellationToken, inputTensors)
                : Quantizer.Run(job, new PlainLines(context.Error, inputTensors), cancellationToken);
        }
        catch (QuantizationException e)
        {
            throw new UserErrorException(e.Message, e);
        }
        QuantizeSummary.Write(context.CreateReportWriter(), input, result, inputTensors);
    }

    /// <summary>
    /// Runs the job under a progress bar drawn on the context's stderr, its bytes counted as <paramref name="inputTensors"/>
    /// has the input (a BF16 checkpoint's bytes, not the float32 rows the pipeline reads).
    /// </summary>
    public static QuantizationResult RunWithBar(CliContext context, QuantizationJob job, CancellationToken cancellationToken, InputTensors? inputTensors = null)
    {
        var written = job.WrittenEntries.ToList();
        var inputBytes = written.Sum((inputTensors ?? InputTensors.AsPlanned).BytesOf);
        var sourceBytes = written.Sum(e => e.SourceBytes);
        var scale = sourceBytes == 0 ? 1.0 : (double)inputBytes / sourceBytes;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(context.Error),
            Interactive = InteractionSupport.Yes,
        });
        QuantizationResult? result = null;
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn { Culture = CultureInfo.InvariantCulture },
                new TransferSpeedColumn { Culture = CultureInfo.InvariantCulture },
                new RemainingTimeColumn())
            .Start(progress =>
            {
                var task = progress.AddTask(Describe(1, written.Count, written.Count == 0 ? "" : written[0].Name), maxValue: Math.Max(1, inputBytes));
                result = Quantizer.Run(job, new BarReporter(task, scale), cancellationToken);
                task.Value = task.MaxValue;
            });
        return result!;
    }

    // Tensor names come from the file: escaped, since Spectre reads descriptions as markup.
    static string Describe(int number, int count, string name) =>
        Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"[{number}/{count}] {name}"));

    sealed class BarReporter(ProgressTask task, double scale) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value)
        {
            task.Value = value.SourceBytesDone * scale;
            task.Description = Describe(value.TensorNumber, value.TensorCount, value.Entry.Name);
        }
    }

    /// <summary>One line per tensor, as llama-quantize logs them: number, name, shape, types, sizes.</summary>
    public sealed class PlainLines(TextWriter error, InputTensors? inputTensors = null) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value)
        {
            if (!value.TensorCompleted)
            {
                return;
            }
            var e = value.Entry;
            var width = value.TensorCount.ToString(CultureInfo.InvariantCulture).Length;
            var number = value.TensorNumber.ToString(CultureInfo.InvariantCulture).PadLeft(width);
            var input = inputTensors ?? InputTensors.AsPlanned;
            var types = input.IsCopied(e)
                ? $"{input.TypeOf(e)}, copied"
                : $"{input.TypeOf(e)} -> {GgmlTypeInfo.Of(e.TargetType).Name}";
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{number}/{value.TensorCount}] {e.Name,-32} {Humanize.Shape(e.Tensor.Shape),-16} {types,-16} {Mib(input.BytesOf(e)),9:F3} MiB -> {Mib(e.TargetBytes),9:F3} MiB"));
        }

        static double Mib(long bytes) => bytes / 1024.0 / 1024.0;
    }
}
