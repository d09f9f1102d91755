using System.CommandLine;
using System.Globalization;
using Quanta.Cli.Rendering;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Quantization;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta types</c>: every ggml type and every preset, with bits per weight, whether Quanta can write it
/// yet, and llama.cpp's published Llama-3-8B quality figures, so that choosing a preset needs no browser.
/// </summary>
internal static class TypesCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("types", "List the ggml types and quantization presets with bits per weight and published quality figures");
        command.SetAction((_, _) =>
        {
            Run(context);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    internal static void Run(CliContext context)
    {
        var report = context.CreateReportWriter();
        var presets = new TextTable("Presets (quanta quantize IN [OUT] PRESET)",
            new TextColumn("PRESET"), new TextColumn("FTYPE", AlignRight: true), new TextColumn("MAIN TYPE"),
            new TextColumn("BPW", AlignRight: true), new TextColumn("SIZE 8B", AlignRight: true),
            new TextColumn("ΔPPL", AlignRight: true), new TextColumn("KLD", AlignRight: true), new TextColumn("QUANTA"));
        foreach (var preset in QuantizationPresets.All)
        {
            var figures = PublishedQualityFigures.For(preset);
            var imatrix = figures?.WithImportanceMatrix == true ? "*" : "";
            presets.AddRow(
                preset.Name + (preset.Aliases.Count > 0 ? $" ({string.Join(", ", preset.Aliases)})" : ""),
                preset.IsCopy ? "-" : preset.FileTypeNumber.ToString(CultureInfo.InvariantCulture),
                GgmlTypeInfo.Of(preset.DefaultType).Name,
                figures?.BitsPerWeight is { } bpw ? bpw.ToString("0.00", CultureInfo.InvariantCulture) : "-",
                figures?.SizeGiB is { } size ? size.ToString("0.00", CultureInfo.InvariantCulture) + " GiB" : "-",
                figures?.PerplexityIncrease is { } ppl ? "+" + ppl.ToString("0.0000", CultureInfo.InvariantCulture) + imatrix : "-",
                figures?.KlDivergence is { } kld ? kld.ToString("0.000000", CultureInfo.InvariantCulture) + imatrix : "-",
                PresetStatus(preset));
        }
        report.WriteTable(presets);
        report.WriteLine(
            "BPW: bits per weight of the whole file on Llama-3.1-8B (tools/quantize/README.md). SIZE, ΔPPL (perplexity increase over FP16) " +
            "and KLD (mean KL divergence from FP16 logits): Llama-3-8B on Wikitext-2, llama.cpp's examples/perplexity/README.md scoreboard. " +
            "* measured with an importance matrix. QUANTA: 'yes' when every type the preset uses can be written today.");

        var types = new TextTable("ggml types",
            new TextColumn("TYPE"), new TextColumn("ID", AlignRight: true), new TextColumn("BLOCK", AlignRight: true),
            new TextColumn("BYTES", AlignRight: true), new TextColumn("BPW", AlignRight: true), new TextColumn("QUANTA"));
        foreach (var type in GgmlTypeInfo.Types)
        {
            types.AddRow(type.Name, ((int)type.Type).ToString(CultureInfo.InvariantCulture),
                type.BlockElements.ToString(CultureInfo.InvariantCulture), type.BlockBytes.ToString(CultureInfo.InvariantCulture),
                type.BitsPerWeight.ToString("0.####", CultureInfo.InvariantCulture), TypeStatus(type.Type));
        }
        report.WriteTable(types);
    }

    static string TypeStatus(GgmlType type) =>
        !BlockCodecs.TryGet(type, out var codec) ? "not yet"
        : codec.CanEncode ? "read/write"
        : "read";

    static string PresetStatus(QuantizationPreset preset)
    {
        if (preset.RequiresImportanceMatrix)
        {
            // Written with an importance matrix where the preset's own type has an encoder (its mix may still
            // reach a type that has none on some models, which quantize then names).
            return BlockCodecs.TryGet(preset.DefaultType, out var own) && own.CanEncode ? "with --imatrix" : "needs imatrix (later)";
        }
        if (preset.IsCopy)
        {
            return "yes";
        }
        // The types a preset's mix can reach: its default, plus the K-quant/legacy types the rules add.
        GgmlType[] used = preset.QuantizesByDefault ? [preset.DefaultType, GgmlType.Q8_0, GgmlType.Q6_K] : [preset.DefaultType];
        return used.All(t => BlockCodecs.TryGet(t, out var c) && c.CanEncode) ? "yes" : "not yet";
    }
}
