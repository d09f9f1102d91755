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
        // One shard of a set (--shard I/N) is summed over its own tensors, not the whole plan's.
        var writtenNames = result.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var entries = plan.Entries.Where(e => writtenNames.Contains(e.Name)).ToList();
        // The input as the user has it (a BF16 checkpoint is BF16 bytes, even though the pipeline reads float32).
        var stored = inputTensors ?? InputTensors.AsPlanned;
        var inputBytes = entries.Sum(stored.BytesOf);
        var elements = entries.Sum(e => e.Tensor.ElementCount);
        var targetBytes = entries.Sum(e => e.TargetBytes);
        var inputBitsPerWeight = elements == 0 ? 0 : inputBytes * 8.0 / elements;
        var bitsPerWeight = elements == 0 ? 0 : targetBytes * 8.0 / elements;
        var quantized = entries.Count(e => !stored.IsCopied(e));
        report.WriteFields(
        [
            new("Input", input),
            new("Output", string.Join(", ", result.OutputPaths)),
            new("Type", $"{plan.Preset.Name} ({plan.Preset.FileTypeNumber})"),
            new("Tensors", $"{Humanize.Exact(entries.Count)} ({Humanize.Exact(quantized)} converted, {Humanize.Exact(entries.Count - quantized)} copied)"),
            new("Size", $"{Humanize.Bytes(inputBytes)} -> {Humanize.Bytes(targetBytes)} ({Percent(targetBytes, inputBytes)} of the input)"),
            new("Bits per weight", $"{Humanize.Bits(inputBitsPerWeight)} -> {Humanize.Bits(bitsPerWeight)}"),
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
        types.SetFooter("total", Humanize.Exact(result.Tensors.Count), Humanize.Count(elements), Humanize.Bytes(targetBytes), Humanize.Bits(bitsPerWeight));
        report.WriteTable(types);
    }

    static string Percent(long part, long whole) =>
        whole == 0 ? "-" : (100.0 * part / whole).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
