using System.Text.Json.Nodes;
using Quanta.Inference.Chat;
using Quanta.Store;
using Quanta.Templates.Ollama;

namespace Quanta.Cli.Interactive;

/// <summary>
/// The model <c>quanta run</c> talks to: a model of the store (its TEMPLATE, SYSTEM, PARAMETER, MESSAGE and LICENSE
/// layers mapped onto a <see cref="ChatSession"/>, as Ollama's server maps them) or a bare GGUF file (its chat
/// template, Ollama's default options).
/// </summary>
internal sealed class RunModel : IDisposable
{
    RunModel(string name, StoredModel? stored, ChatModel model, ChatSession session)
    {
        Name = name;
        Stored = stored;
        Model = model;
        Session = session;
    }

    /// <summary>The name as given (a model name or a file path).</summary>
    public string Name { get; }

    /// <summary>The stored model, or null for a GGUF file.</summary>
    public StoredModel? Stored { get; }

    public ChatModel Model { get; }

    public ChatSession Session { get; }

    /// <summary>The model's own parameters (its params layer); empty for a GGUF file.</summary>
    public ModelParameters Parameters => Stored?.Parameters ?? new ModelParameters();

    /// <summary>Whether <paramref name="nameOrPath"/> names a GGUF file rather than a model of the store.</summary>
    public static bool IsFile(string nameOrPath) =>
        File.Exists(nameOrPath) || nameOrPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Loads <paramref name="nameOrPath"/>: a GGUF file, or a model of <paramref name="store"/>. The threads are
    /// <c>num_thread</c> of the session's or the model's parameters, else every processor.
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model in the store.</exception>
    public static RunModel Load(Func<ModelStore> store, string nameOrPath, ModelParameters sessionOptions, CancellationToken cancellationToken) =>
        Load(store, nameOrPath, sessionOptions, projectorPath: null, cancellationToken);

    /// <summary>
    /// As <see cref="Load(Func{ModelStore}, string, ModelParameters, CancellationToken)"/>, with a vision projector file
    /// (<c>--mmproj</c>); null: a stored model's projector layer, or the file's own vision tower.
    /// </summary>
    public static RunModel Load(Func<ModelStore> store, string nameOrPath, ModelParameters sessionOptions, string? projectorPath, CancellationToken cancellationToken) =>
        Load(store, nameOrPath, sessionOptions, projectorPath, projectorDoesNotFit: null, cancellationToken);

    /// <summary>
    /// <c>/load</c> in a session started with <c>--mmproj</c> <paramref name="commandLineProjector"/> (or null): the
    /// new model's own projector when it has one (a stored projector layer, or a vision tower in the file, as
    /// Ollama's <c>/load</c> brings a stored model's projector), else the command line's projector when its width is
    /// the new model's; a projector that does not fit is left out and the reason goes to
    /// <paramref name="projectorDoesNotFit"/>.
    /// </summary>
    public static RunModel LoadInSession(Func<ModelStore> store, string nameOrPath, ModelParameters sessionOptions, string? commandLineProjector,
        Action<string> projectorDoesNotFit, CancellationToken cancellationToken)
    {
        var keep = commandLineProjector is not null && !HasOwnProjector(store, nameOrPath) ? commandLineProjector : null;
        return Load(store, nameOrPath, sessionOptions, keep, keep is null ? null : projectorDoesNotFit, cancellationToken);
    }

    /// <summary>Whether a stored model has a projector layer or a GGUF file its own vision tower (nothing loads).</summary>
    static bool HasOwnProjector(Func<ModelStore> store, string nameOrPath)
    {
        if (!IsFile(nameOrPath))
        {
            return StoredModel.Load(store(), Commands.StoreArguments.Name(nameOrPath)).ProjectorPaths.Count > 0;
        }
        if (!File.Exists(nameOrPath))
        {
            // Load names the missing file.
            return false;
        }
        using var file = Formats.Gguf.GgufFile.Open(nameOrPath);
        return Inference.Vision.VisionHyperparameters.IsVisionFile(file);
    }

    static RunModel Load(Func<ModelStore> store, string nameOrPath, ModelParameters sessionOptions, string? projectorPath, Action<string>? projectorDoesNotFit,
        CancellationToken cancellationToken)
    {
        StoredModel? stored = null;
        string path;
        if (IsFile(nameOrPath))
        {
            Commands.InputFile.Require(nameOrPath, ".gguf file");
            path = nameOrPath;
        }
        else
        {
            stored = StoredModel.Load(store(), Commands.StoreArguments.Name(nameOrPath));
            path = stored.ModelPath;
        }
        var parameters = ChatParameters.Defaults.With(Options(stored?.Parameters ?? new ModelParameters()));
        var threads = parameters.With(Options(sessionOptions)).NumThread;
        if (projectorPath is not null)
        {
            Commands.InputFile.Require(projectorPath, "projector file");
        }
        projectorPath ??= stored?.ProjectorPaths.FirstOrDefault();
        var model = ChatModel.Load(path, projectorPath, Math.Max(threads, 0), projectorDoesNotFit, cancellationToken);
        try
        {
            var session = new ChatSession(model, stored?.Template)
            {
                System = stored?.System ?? "",
                Messages = stored is null ? [] : [.. stored.Messages.Select(m => new PromptMessage(m.Role, m.Content))],
                Parameters = parameters,
                // A prompt that does not fit is an error the user can act on (num_ctx), not a silent cut.
                TruncateLongPrompts = false,
            };
            return new RunModel(nameOrPath, stored, model, session);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Stored parameters as the options a <see cref="ChatParameters"/> takes.</summary>
    public static List<KeyValuePair<string, JsonNode?>> Options(ModelParameters parameters) =>
        [.. parameters.Names.Select(name => new KeyValuePair<string, JsonNode?>(name, parameters[name].DeepClone()))];

    public void Dispose() => Model.Dispose();
}
