using System.Globalization;
using Quanta.Formats.Gguf;
using Quanta.Quantization;

namespace Quanta.Cli.Rendering;

/// <summary>The report printed on stdout when a quantization finishes.</summary>
internal static class QuantizeSummary
{
    public static void Write(IReportWriter report, string input, QuantizationResult result, InputTensors? inputTensors = null)
    {
        var plan = result.Plan;
        var seconds = result.Elapsed.TotalSeconds;
        // The input as the user has it (a BF16 checkpoint is BF16 bytes, even though the pipeline reads float32).
        var stored = inputTensors ?? InputTensors.AsPlanned;
        var inputBytes = stored.TotalBytes(plan);
        var inputBitsPerWeight = plan.ElementCount == 0 ? 0 : inputBytes * 8.0 / plan.ElementCount;
        var quantized = plan.Entries.Count(e => !stored.IsCopied(e));
        report.WriteFields(
        [
            new("Input", input),
            new("Output", string.Join(", ", result.OutputPaths)),
            new("Type", $"{plan.Preset.Name} ({plan.Preset.FileTypeNumber})"),
            new("Tensors", $"{Humanize.Exact(plan.Entries.Count)} ({Humanize.Exact(quantized)} converted, {Humanize.Exact(plan.Entries.Count - quantized)} copied)"),
            new("Size", $"{Humanize.Bytes(inputBytes)} -> {Humanize.Bytes(plan.TargetBytes)} ({Percent(plan.TargetBytes, inputBytes)} of the input)"),
            new("Bits per weight", $"{Humanize.Bits(inputBitsPerWeight)} -> {Humanize.Bits(plan.BitsPerWeight)}"),
            new("Time", seconds.ToString("0.00 s", CultureInfo.InvariantCulture)),
            new("Throughput", (seconds <= 0 ? 0 : inputBytes / seconds / 1e6).ToString("0.0 'MB/s' (input)", CultureInfo.InvariantCulture)),
        ]);

        var types = new TextTable("Output tensor types",
            new TextColumn("TYPE"), new TextColumn("TENSORS", AlignRight: true), new TextColumn("ELEMENTS", AlignRight: true),
            new TextColumn("SIZE", AlignRight: true), new TextColumn("BITS/WEIGHT", AlignRight: true));
        foreach (var t in TensorTypeTotals.ByType(result.Tensors))
        {
            types.AddRow(t.Type.ToString(), Humanize.Exact(t.Tensors), Humanize.Count(t.Elements), Humanize.Bytes(t.Bytes), Humanize.Bits(t.BitsPerWeight));
        }
        types.SetFooter("total", Humanize.Exact(result.Tensors.Count), Humanize.Count(plan.ElementCount), Humanize.Bytes(plan.TargetBytes), Humanize.Bits(plan.BitsPerWeight));
        report.WriteTable(types);
    }

    static string Percent(long part, long whole) =>
        whole == 0 ? "-" : (100.0 * part / whole).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
