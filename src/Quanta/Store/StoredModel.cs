using System.Text;
using System.Text.Json;

namespace Quanta.Store;

/// <summary>
/// A model read back from the store: its manifest, config and the contents of its text layers (each verified
/// against its digest), and the paths of its GGUF blobs (size-checked).
/// </summary>
public sealed class StoredModel
{
    StoredModel(ModelName name, Manifest manifest, ModelConfig config)
    {
        Name = name;
        Manifest = manifest;
        Config = config;
    }

    public ModelName Name { get; }

    public Manifest Manifest { get; }

    public ModelConfig Config { get; }

    public string? Template { get; private set; }

    public string? System { get; private set; }

    public ModelParameters Parameters { get; private set; } = new();

    public IReadOnlyList<string> Licenses { get; private set; } = [];

    public IReadOnlyList<(string Role, string Content)> Messages { get; private set; } = [];

    public string ModelPath { get; private set; } = "";

    public IReadOnlyList<string> ProjectorPaths { get; private set; } = [];

    public IReadOnlyList<string> AdapterPaths { get; private set; } = [];

    public string? DraftPath { get; private set; }

    /// <summary>The <c>from</c> of the model layer: the model this one was derived from, if any.</summary>
    public string? ParentModel => Manifest.Layers.FirstOrDefault(l => l.MediaType == MediaTypes.Model)?.From;

    /// <exception cref="ModelNotFoundException">No such model.</exception>
    /// <exception cref="CorruptBlobException">A layer is missing or damaged.</exception>
    public static StoredModel Load(ModelStore store, ModelName name)
    {
        ArgumentNullException.ThrowIfNull(store);
        var manifest = store.GetManifest(name);
        var model = new StoredModel(name, manifest, store.GetConfig(manifest));
        var licenses = new List<string>();
        var projectors = new List<string>();
        var adapters = new List<string>();
        foreach (var layer in manifest.Layers)
        {
            switch (layer.MediaType)
            {
                case MediaTypes.Model:
                    store.VerifyBlob(layer, full: false);
                    model.ModelPath = store.BlobPath(layer.Digest);
                    break;
                case MediaTypes.Projector:
                    store.VerifyBlob(layer, full: false);
                    projectors.Add(store.BlobPath(layer.Digest));
                    break;
                case MediaTypes.Adapter:
                    store.VerifyBlob(layer, full: false);
                    adapters.Add(store.BlobPath(layer.Digest));
                    break;
                case MediaTypes.Draft:
                    store.VerifyBlob(layer, full: false);
                    model.DraftPath = store.BlobPath(layer.Digest);
                    break;
                case MediaTypes.Template or MediaTypes.Prompt:
                    model.Template = Text(store, layer);
                    break;
                case MediaTypes.System:
                    model.System = Text(store, layer);
                    break;
                case MediaTypes.License:
                    licenses.Add(Text(store, layer));
                    break;
                case MediaTypes.Params:
                    try
                    {
                        model.Parameters = ModelParameters.FromJson(store.ReadBlob(layer));
                    }
                    catch (FormatException e)
                    {
                        throw new StoreException($"blob {layer.Digest}: {e.Message}", e);
                    }
                    break;
                case MediaTypes.Messages:
                    model.Messages = ReadMessages(store, layer);
                    break;
            }
        }
        if (model.ModelPath.Length == 0)
        {
            throw new StoreException($"model '{name.DisplayShortest}' has no model layer");
        }
        model.Licenses = licenses;
        model.ProjectorPaths = projectors;
        model.AdapterPaths = adapters;
        return model;
    }

    static string Text(ModelStore store, ManifestLayer layer) => Encoding.UTF8.GetString(store.ReadBlob(layer));

    static List<(string, string)> ReadMessages(ModelStore store, ManifestLayer layer)
    {
        var messages = new List<(string, string)>();
        try
        {
            using var document = JsonDocument.Parse(store.ReadBlob(layer));
            foreach (var message in document.RootElement.EnumerateArray())
            {
                messages.Add((message.GetProperty("role").GetString() ?? "", message.GetProperty("content").GetString() ?? ""));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new StoreException($"blob {layer.Digest}: not a messages layer ({e.Message})", e);
        }
        return messages;
    }

    /// <summary>The model as Modelfile instructions that create it again (Ollama's <c>Model.String</c>).</summary>
    public IReadOnlyList<ModelfileInstruction> ToInstructions()
    {
        var list = new List<ModelfileInstruction> { new(ModelfileCommand.From, null, ModelPath) };
        list.AddRange(ProjectorPaths.Select(p => new ModelfileInstruction(ModelfileCommand.From, null, p)));
        list.AddRange(AdapterPaths.Select(p => new ModelfileInstruction(ModelfileCommand.Adapter, null, p)));
        if (DraftPath is not null)
        {
            list.Add(new(ModelfileCommand.Draft, null, DraftPath));
        }
        if (Template is not null)
        {
            list.Add(new(ModelfileCommand.Template, null, Template));
        }
        if (System is not null)
        {
            list.Add(new(ModelfileCommand.System, null, System));
        }
        if (Config.Renderer is { } renderer)
        {
            list.Add(new(ModelfileCommand.Renderer, null, renderer));
        }
        if (Config.Parser is { } parser)
        {
            list.Add(new(ModelfileCommand.Parser, null, parser));
        }
        if (Config.Requires is { } requires)
        {
            list.Add(new(ModelfileCommand.Requires, null, requires));
        }
        list.AddRange(Parameters.Lines().Select(p => new ModelfileInstruction(ModelfileCommand.Parameter, p.Name, p.Value)));
        list.AddRange(Licenses.Select(l => new ModelfileInstruction(ModelfileCommand.License, null, l)));
        list.AddRange(Messages.Select(m => new ModelfileInstruction(ModelfileCommand.Message, m.Role, m.Content)));
        return list;
    }

    /// <summary><c>show --modelfile</c>: Ollama's header, then the instructions.</summary>
    public string ToModelfile()
    {
        var sb = new StringBuilder();
        sb.Append("# Modelfile generated by \"quanta show\"\n");
        sb.Append("# To build a new Modelfile based on this, replace FROM with:\n");
        sb.Append("# FROM ").Append(Name.DisplayShortest).Append("\n\n");
        sb.Append(ModelfileFormatter.Format(ToInstructions()));
        return sb.ToString();
    }
}
