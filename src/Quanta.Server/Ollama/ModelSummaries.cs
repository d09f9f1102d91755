using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Quanta.Formats.Gguf;
using Quanta.Store;

namespace Quanta.Server.Ollama;

/// <summary>
/// The models of <c>/api/tags</c> (and <c>/v1/models</c>), as Ollama's model list cache builds them
/// (buildModelListSummary): name, size, manifest digest, modification time, the config's details with the context and
/// embedding length from the GGUF where the config has none, and the capabilities. A summary is kept per manifest
/// digest, so a listing opens a model's GGUF only once per version of the model; a model that cannot be read is left
/// out with a warning, as Ollama leaves it out.
/// </summary>
public sealed partial class ModelSummaries(ModelStore store, ILogger<ModelSummaries> logger)
{
    readonly ConcurrentDictionary<string, ListModelResponse> _byManifestDigest = new(StringComparer.Ordinal);

    public IReadOnlyList<ListModelResponse> List()
    {
        var models = new List<ListModelResponse>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var info in store.List(warning => LogSkipped(logger, warning)))
        {
            var key = info.ManifestDigest + " " + info.Name;
            seen.Add(key);
            if (!_byManifestDigest.TryGetValue(key, out var summary))
            {
                try
                {
                    summary = Build(info);
                }
                catch (Exception e) when (e is StoreException or IOException or UnauthorizedAccessException or Quanta.Formats.FileFormatException)
                {
                    LogSkipped(logger, $"skipping model '{info.Name.DisplayShortest}': {e.Message}");
                    continue;
                }
                _byManifestDigest[key] = summary;
            }
            models.Add(summary with { ModifiedAt = info.ModifiedAt });
        }
        foreach (var stale in _byManifestDigest.Keys.Where(k => !seen.Contains(k)))
        {
            _byManifestDigest.TryRemove(stale, out _);
        }
        return models;
    }

    ListModelResponse Build(StoredModelInfo info)
    {
        var model = StoredModel.Load(store, info.Name);
        var config = model.Config;
        using var file = GgufFile.Open(model.ModelPath);
        var arch = file.Metadata.LenientString(GgufKeys.Architecture) ?? config.ModelFamily;
        var name = info.Name.DisplayShortest;
        return new ListModelResponse
        {
            Name = name,
            Model = name,
            Size = info.Size,
            Digest = info.ManifestDigest[(info.ManifestDigest.IndexOf(':', StringComparison.Ordinal) + 1)..],
            Details = new ModelDetails
            {
                Format = config.ModelFormat,
                Family = config.ModelFamily,
                Families = config.ModelFamilies,
                ParameterSize = config.ModelType,
                QuantizationLevel = config.FileType,
                ContextLength = config.ContextLength > 0 ? config.ContextLength : file.Metadata.LenientInteger($"{arch}.context_length") ?? 0,
                EmbeddingLength = config.EmbeddingLength > 0 ? config.EmbeddingLength : file.Metadata.LenientInteger($"{arch}.embedding_length") ?? 0,
            },
            Capabilities = ModelCapabilities.Of(model, file.Metadata),
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    static partial void LogSkipped(ILogger logger, string warning);
}
