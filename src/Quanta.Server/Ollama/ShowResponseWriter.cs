using Quanta.Templates.Go;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Store;

namespace Quanta.Server.Ollama;

/// <summary>
/// Ollama's <c>/api/show</c> answer (api.ShowResponse, filled as server/routes.go GetModelInfo fills it), written by hand
/// so that model_info's floats are spelled as Go spells them. <c>quanta show --json</c> writes the same document, with
/// Quanta's <c>name</c> and <c>layers</c> added (<see cref="ShowOptions.IncludeStoreDetails"/>).
/// </summary>
public static class ShowResponseWriter
{
    /// <summary>What a model without a TEMPLATE layer renders with (Ollama's template.DefaultTemplate).</summary>
    public const string DefaultTemplate = "{{ .Prompt }}";

    public sealed record ShowOptions
    {
        /// <summary>model_info's long arrays (the vocabulary ...) in full instead of null.</summary>
        public bool Verbose { get; init; }

        /// <summary>The system message to show instead of the model's (ShowRequest.System).</summary>
        public string? System { get; init; }

        /// <summary>Quanta's additions for <c>show --json</c>: the model's name first, its manifest layers last.</summary>
        public bool IncludeStoreDetails { get; init; }
    }

    public static byte[] Write(ModelStore store, StoredModel model, ShowOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var modifiedAt = new DateTimeOffset(File.GetLastWriteTimeUtc(store.ManifestPath(model.Name)), TimeSpan.Zero);
        using var file = GgufFile.Open(model.ModelPath);
        return Http.ApiJson.Write(w =>
        {
            w.WriteStartObject();
            if (options.IncludeStoreDetails)
            {
                w.WriteString("name", model.Name.DisplayShortest);
            }
            WriteUnlessEmpty(w, "license", string.Join("\n", model.Licenses));
            WriteUnlessEmpty(w, "modelfile", model.ToModelfile());
            WriteUnlessEmpty(w, "parameters", ParameterLines(model.Parameters).TrimEnd('\n'));
            WriteUnlessEmpty(w, "template", model.Template ?? DefaultTemplate);
            WriteUnlessEmpty(w, "system", options.System is { Length: > 0 } system ? system : model.System ?? "");
            WriteUnlessEmpty(w, "renderer", model.Config.Renderer ?? "");
            WriteUnlessEmpty(w, "parser", model.Config.Parser ?? "");
            w.WritePropertyName("details");
            WriteDetails(w, model);
            if (model.Messages.Count > 0)
            {
                w.WriteStartArray("messages");
                foreach (var (role, content) in model.Messages)
                {
                    w.WriteStartObject();
                    w.WriteString("role", role);
                    w.WriteString("content", content);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            var style = options.Verbose ? GgufJsonStyle.ShowVerbose : GgufJsonStyle.Show;
            w.WritePropertyName("model_info");
            WriteInfo(w, file, style);
            if (model.ProjectorPaths.Count > 0)
            {
                using var projector = GgufFile.Open(model.ProjectorPaths[0]);
                w.WritePropertyName("projector_info");
                WriteInfo(w, projector, style);
            }
            if (file.Tensors.Count > 0)
            {
                w.WriteStartArray("tensors");
                foreach (var tensor in file.Tensors)
                {
                    w.WriteStartObject();
                    w.WriteString("name", tensor.Name);
                    w.WriteString("type", GgmlTypeInfo.Of(tensor.Type).Name.ToUpperInvariant());
                    w.WriteStartArray("shape");
                    foreach (var dimension in tensor.Shape)
                    {
                        w.WriteNumberValue(dimension);
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            var capabilities = ModelCapabilities.Of(model, file.Metadata);
            if (capabilities.Count > 0)
            {
                w.WriteStartArray("capabilities");
                foreach (var capability in capabilities)
                {
                    w.WriteStringValue(capability);
                }
                w.WriteEndArray();
            }
            w.WriteString("modified_at", modifiedAt);
            WriteUnlessEmpty(w, "requires", model.Config.Requires ?? "");
            if (options.IncludeStoreDetails)
            {
                w.WriteStartArray("layers");
                foreach (var layer in model.Manifest.Layers)
                {
                    w.WriteStartObject();
                    w.WriteString("mediaType", layer.MediaType);
                    w.WriteString("digest", layer.Digest);
                    w.WriteNumber("size", layer.Size);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        });
    }

    static void WriteUnlessEmpty(Utf8JsonWriter w, string name, string value)
    {
        if (value.Length > 0)
        {
            w.WriteString(name, value);
        }
    }

    /// <summary>Show's details: the config's, with the parent model (the model layer's <c>from</c>).</summary>
    static void WriteDetails(Utf8JsonWriter w, StoredModel model)
    {
        w.WriteStartObject();
        w.WriteString("parent_model", model.ParentModel ?? "");
        w.WriteString("format", model.Config.ModelFormat);
        w.WriteString("family", model.Config.ModelFamily);
        if (model.Config.ModelFamilies is { } families)
        {
            w.WriteStartArray("families");
            foreach (var family in families)
            {
                w.WriteStringValue(family);
            }
            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("families");
        }
        w.WriteString("parameter_size", model.Config.ModelType);
        w.WriteString("quantization_level", model.Config.FileType);
        w.WriteEndObject();
    }

    /// <summary>Ollama's model_info: every key but general.name and the chat template, and the parameter count.</summary>
    static void WriteInfo(Utf8JsonWriter w, GgufFile file, GgufJsonStyle style)
    {
        w.WriteStartObject();
        w.WriteNumber("general.parameter_count", file.Tensors.Sum(t => t.Info.ElementCount));
        foreach (var (key, value) in file.Metadata)
        {
            if (key is GgufKeys.Name or "tokenizer.chat_template" or "general.parameter_count")
            {
                continue;
            }
            w.WritePropertyName(key);
            GgufValueJson.Write(w, value.RawValue, style);
        }
        w.WriteEndObject();
    }

    /// <summary>Ollama's <c>%-30s %#v</c> parameter lines: strings quoted, numbers and booleans as they are, a list one line per item.</summary>
    public static string ParameterLines(ModelParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var sb = new StringBuilder();
        foreach (var (key, value) in parameters.Lines())
        {
            var shown = parameters[key] is JsonArray || IsString(parameters[key]) ? GoQuoting.Quote(value) : value;
            sb.Append(CultureInfo.InvariantCulture, $"{key,-30} {shown}\n");
        }
        return sb.ToString();
    }

    /// <summary>Whether a parameter's value is a string (quoted by Go's <c>%#v</c>).</summary>
    public static bool IsString(JsonNode node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String;
}
