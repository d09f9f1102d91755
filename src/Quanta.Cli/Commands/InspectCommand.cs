using System.CommandLine;
using System.Globalization;
using Quanta.Cli.Rendering;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta inspect FILE [--tensors] [--json]</c>: what a GGUF file holds, without loading its tensors.
/// Works on any valid GGUF, including types Quanta cannot encode, vocabulary-only files and split sets.
/// </summary>
internal static class InspectCommand
{
    public static Command Create(CliContext context)
    {
        var file = CliArguments.InputPath("file", "A GGUF file, any shard of a split set (name-00001-of-00003.gguf), or an importance matrix (GGUF imatrix or .dat)");
        var tensors = new Option<bool>("--tensors", "-t")
        {
            Description = "Also list every tensor: name, shape, type and size",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Write one JSON document to stdout instead of the report, for scripts",
        };
        var command = new Command("inspect", "Show a GGUF model's summary, metadata and tensor types")
        {
            file, tensors, json,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            Run(context, parseResult.GetRequiredValue(file), parseResult.GetValue(tensors), parseResult.GetValue(json), cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    internal static void Run(CliContext context, string path, bool listTensors, bool json, CancellationToken cancellationToken)
    {
        InputFile.Require(path, ".gguf file");
        cancellationToken.ThrowIfCancellationRequested();
        if (ImatrixReport.IsImatrix(path))
        {
            ImatrixReport.Write(context, path, json);
            return;
        }
        using var model = GgufFile.Open(path);
        var summary = ModelSummary.From(model);
        cancellationToken.ThrowIfCancellationRequested();
        if (json)
        {
            InspectJson.Write(context.Out, model, summary, listTensors);
        }
        else
        {
            WriteReport(context.CreateReportWriter(), model, summary, listTensors);
        }
    }

    static void WriteReport(IReportWriter report, GgufFile model, ModelSummary summary, bool listTensors)
    {
        report.WriteFields(SummaryFields(model, summary));

        if (model.IsSplit)
        {
            var shards = new TextTable($"Shards ({summary.Files.Count})",
                new TextColumn("FILE"), new TextColumn("SIZE", AlignRight: true), new TextColumn("TENSORS", AlignRight: true));
            foreach (var file in summary.Files)
            {
                shards.AddRow(Path.GetFileName(file.Path), Humanize.Bytes(file.Size), Humanize.Exact(file.Tensors));
            }
            report.WriteTable(shards);
        }

        var metadata = new TextTable($"Metadata ({model.Metadata.Count} keys)",
            new TextColumn("KEY"), new TextColumn("TYPE"), new TextColumn("VALUE"));
        foreach (var (key, value) in model.Metadata)
        {
            metadata.AddRow(key, TypeName(value), Humanize.OneLine(value.ToString()));
        }
        report.WriteTable(metadata);

        if (listTensors)
        {
            var table = new TextTable($"Tensors ({model.Tensors.Count})",
                new TextColumn("NAME"), new TextColumn("SHAPE"), new TextColumn("TYPE"), new TextColumn("SIZE", AlignRight: true));
            foreach (var tensor in model.Tensors)
            {
                table.AddRow(tensor.Name, Humanize.Shape(tensor.Shape), TypeName(tensor.Type), Humanize.Bytes(tensor.ByteSize));
            }
            report.WriteTable(table);
        }

        if (model.Tensors.Count == 0)
        {
            report.WriteLine("No tensors (a vocabulary-only or metadata-only file).");
            return;
        }
        var types = new TextTable("Tensor types",
            new TextColumn("TYPE"), new TextColumn("TENSORS", AlignRight: true), new TextColumn("ELEMENTS", AlignRight: true),
            new TextColumn("SIZE", AlignRight: true), new TextColumn("BITS/WEIGHT", AlignRight: true));
        foreach (var t in summary.TypeTotals)
        {
            types.AddRow(TypeName(t.Type), Humanize.Exact(t.Tensors), Humanize.Count(t.Elements), Humanize.Bytes(t.Bytes), Humanize.Bits(t.BitsPerWeight));
        }
        types.SetFooter("total", Humanize.Exact(model.Tensors.Count), Humanize.Count(summary.ParameterCount),
            Humanize.Bytes(summary.TensorBytes), summary.BitsPerWeight is { } bpw ? Humanize.Bits(bpw) : "-");
        report.WriteTable(types);
    }

    static List<KeyValuePair<string, string>> SummaryFields(GgufFile model, ModelSummary summary)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("File", model.Path),
            new("Architecture", summary.Architecture ?? "(not set)"),
            new("Name", summary.Name is null ? "(not set)" : Humanize.OneLine(summary.Name)),
            new("Parameters", $"{Humanize.Count(summary.ParameterCount)} ({Humanize.Exact(summary.ParameterCount)})"),
            new("File type", summary.FileType is { } ftype ? $"{LlamaFileTypes.Describe(ftype)} ({ftype})" : "(not set)"),
            new("Bits per weight", summary.BitsPerWeight is { } bpw ? Humanize.Bits(bpw) : "- (no tensors)"),
            new("File size", $"{Humanize.Bytes(model.FileSize)} ({Humanize.Exact(model.FileSize)} bytes)"),
            new("GGUF version", model.Version.ToString(CultureInfo.InvariantCulture)),
            new("Alignment", model.Alignment.ToString(CultureInfo.InvariantCulture)),
            new("Tensors", Humanize.Exact(model.Tensors.Count)),
        };
        if (model.IsSplit)
        {
            fields.Add(new("Shards", Humanize.Exact(summary.Files.Count)));
        }
        return fields;
    }

    /// <summary>gguf-py's spelling (F16, Q4_K, IQ2_XXS), which also matches the file type names.</summary>
    internal static string TypeName(GgmlType type) => type.ToString();

    /// <summary>llama.cpp's short value type names; arrays carry their element type: <c>arr[str]</c>.</summary>
    internal static string TypeName(GgufValue value) => value.Type == GgufValueType.Array
        ? $"arr[{GgufValueTypes.Name(value.AsArray().ElementType)}]"
        : GgufValueTypes.Name(value.Type);
}
