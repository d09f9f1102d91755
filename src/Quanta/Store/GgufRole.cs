using Quanta.Formats.Gguf;

namespace Quanta.Store;

/// <summary>What a GGUF file is to a model: the weights, a vision projector, or a LoRA adapter.</summary>
public enum GgufRole
{
    Model,
    Projector,
    Adapter,
}

/// <summary>Ollama's import classification (server/create.go, <c>isProjectorGGUF</c>).</summary>
public static class GgufRoles
{
    public static GgufRole Classify(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var type = metadata.LenientString("general.type");
        if (type == "adapter")
        {
            return GgufRole.Adapter;
        }
        if (type is "projector" or "mmproj")
        {
            return GgufRole.Projector;
        }
        var architecture = metadata.LenientString(GgufKeys.Architecture);
        if (architecture == "clip")
        {
            return GgufRole.Projector;
        }
        if (architecture is not null
            && metadata.ContainsKey($"{architecture}.vision.block_count")
            && !metadata.ContainsKey($"{architecture}.block_count"))
        {
            return GgufRole.Projector;
        }
        return GgufRole.Model;
    }
}
