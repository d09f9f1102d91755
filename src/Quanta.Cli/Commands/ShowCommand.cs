using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Quanta.Cli.Rendering;
using Quanta.Server.Ollama;
using Quanta.Formats.Gguf;
using Quanta.Store;

namespace Quanta.Cli.Commands;

/// <summary><c>quanta show NAME</c>: what <c>ollama show</c> prints, and its --modelfile, --parameters ... views.</summary>
internal static class ShowCommand
{
    public static Command Create(CliContext context)
    {
        var name = StoreArguments.NameArgument("NAME", "The model to show");
        var store = StoreArguments.StoreOption();
        var modelfile = new Option<bool>("--modelfile") { Description = "Print a Modelfile that creates this model again" };
        var parameters = new Option<bool>("--parameters") { Description = "Print the parameters" };
        var template = new Option<bool>("--template") { Description = "Print the template" };
        var system = new Option<bool>("--system") { Description = "Print the system message" };
        var license = new Option<bool>("--license") { Description = "Print the license" };
        var json = new Option<bool>("--json") { Description = "Print everything as JSON (as Ollama's /api/show answers)" };
        var verify = new Option<bool>("--verify") { Description = "First check every layer against its digest (reads every byte)" };
        var command = new Command("show", "Show a model's details, Modelfile, parameters, template, system message or license (ollama show)")
        {
            name, store, modelfile, parameters, template, system, license, json, verify,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var views = new[] { modelfile, parameters, template, system, license, json }.Where(o => parseResult.GetValue(o)).ToList();
            if (views.Count > 1)
            {
                throw new UserErrorException($"only one of {string.Join(", ", views.Select(v => v.Name))} can be given");
            }
            var modelStore = StoreArguments.Open(parseResult, store);
            var modelName = StoreArguments.Name(parseResult.GetRequiredValue(name));
            if (parseResult.GetValue(verify) && modelStore.VerifyModel(modelName, cancellationToken).FirstOrDefault(c => c.Problem is not null) is { } corrupt)
            {
                throw new CorruptBlobException(corrupt.Problem!);
            }
            var model = StoredModel.Load(modelStore, modelName);
            var output = context.Out;
            switch (views.FirstOrDefault()?.Name)
            {
                case "--modelfile":
                    output.Write(model.ToModelfile());
                    break;
                case "--parameters":
                    output.Write(ParameterLines(model.Parameters));
                    break;
                case "--template":
                    output.WriteLine(model.Template ?? "");
                    break;
                case "--system":
                    output.WriteLine(model.System ?? "");
                    break;
                case "--license":
                    output.WriteLine(string.Join("\n", model.Licenses));
                    break;
                case "--json":
                    WriteJson(output, modelStore, model);
                    break;
                default:
                    WriteSummary(output, model);
                    break;
            }
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    static string ParameterLines(ModelParameters parameters) => ShowResponseWriter.ParameterLines(parameters);

    static bool IsString(System.Text.Json.Nodes.JsonNode node) => ShowResponseWriter.IsString(node);

    internal static void WriteSummary(TextWriter output, StoredModel model)
    {
        using (var file = GgufFile.Open(model.ModelPath))
        {
            var metadata = file.Metadata;
            var arch = metadata.LenientString(GgufKeys.Architecture) ?? model.Config.ModelFamily;
            var rows = new List<string[]>
            {
                new[] { "architecture", arch },
                new[] { "parameters", model.Config.ModelType },
            };
            AddInteger(rows, "context length", metadata, $"{arch}.context_length");
            AddInteger(rows, "embedding length", metadata, $"{arch}.embedding_length");
            rows.Add(["quantization", model.Config.FileType]);
            Section(output, "Model", rows);
        }
        foreach (var projector in model.ProjectorPaths)
        {
            using var file = GgufFile.Open(projector);
            var metadata = file.Metadata;
            var arch = metadata.LenientString(GgufKeys.Architecture) ?? "clip";
            var rows = new List<string[]>
            {
                new[] { "architecture", arch },
                new[] { "parameters", ModelCreator.HumanNumber(file.Tensors.Sum(t => t.Info.ElementCount)) },
            };
            AddInteger(rows, "embedding length", metadata, $"{arch}.vision.embedding_length");
            AddInteger(rows, "dimensions", metadata, $"{arch}.vision.projection_dim");
            Section(output, "Projector", rows);
        }
        if (model.Parameters.Count > 0)
        {
            Section(output, "Parameters", model.Parameters.Lines().Select(p =>
                new[] { p.Name, IsString(model.Parameters[p.Name]) || model.Parameters[p.Name] is System.Text.Json.Nodes.JsonArray ? Quanta.Templates.Go.GoQuoting.Quote(p.Value) : p.Value }));
        }
        if (!string.IsNullOrEmpty(model.System))
        {
            Section(output, "System", FirstLines(model.System));
        }
        if (model.Licenses.Count > 0)
        {
            Section(output, "License", FirstLines(string.Join("\n", model.Licenses)));
        }
    }

    /// <summary>The first two lines and an ellipsis, as Ollama shortens the system message and license.</summary>
    static IEnumerable<string[]> FirstLines(string text)
    {
        var lines = text.Trim().Split('\n');
        foreach (var line in lines.Take(2))
        {
            yield return [line.TrimEnd('\r')];
        }
        if (lines.Length > 2)
        {
            yield return ["..."];
        }
    }

    static void Section(TextWriter output, string title, IEnumerable<string[]> rows)
    {
        output.WriteLine($"  {title}");
        OllamaFormat.WriteTable(output, [], rows, "    ");
        output.WriteLine();
    }

    /// <summary>Ollama's /api/show answer, the same document <c>quanta serve</c> sends, with the model's name and layers added.</summary>
    static void WriteJson(TextWriter output, ModelStore store, StoredModel model)
    {
        var json = ShowResponseWriter.Write(store, model, new ShowResponseWriter.ShowOptions { IncludeStoreDetails = true });
        using var document = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            document.WriteTo(w);
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>A summary row of <paramref name="label"/> and the integer at <paramref name="key"/>, when the file has one.</summary>
    static void AddInteger(List<string[]> rows, string label, GgufMetadata metadata, string key)
    {
        if (metadata.LenientInteger(key) is { } n)
        {
            rows.Add([label, n.ToString(CultureInfo.InvariantCulture)]);
        }
    }
}
