using Quanta.Formats.Gguf;

namespace Quanta.Inference.Embeddings;

/// <summary>llama.cpp's <c>llama_pooling_type</c> (the values of <c>{arch}.pooling_type</c>): how a sequence's token states become one vector.</summary>
public enum PoolingType
{
    /// <summary>No pooling in llama.cpp; Ollama's runner then takes the last token's state (<c>llama_get_embeddings_ith</c>), and so does Quanta.</summary>
    None = 0,

    /// <summary>The mean of every token's state.</summary>
    Mean = 1,

    /// <summary>The first token's state.</summary>
    Cls = 2,

    /// <summary>The last token's state.</summary>
    Last = 3,

    /// <summary>A reranker's classification head: not an embedding.</summary>
    Rank = 4,
}

/// <summary>Names and ids of <see cref="PoolingType"/>.</summary>
public static class PoolingTypes
{
    /// <summary>The type with llama.cpp's id <paramref name="id"/>; another id is a <see cref="GgufFormatException"/> naming <paramref name="key"/>.</summary>
    public static PoolingType FromId(int id, string key) => id switch
    {
        >= 0 and <= 4 => (PoolingType)id,
        _ => throw new GgufFormatException($"key {key} has an unknown pooling type {id}"),
    };

    /// <summary>llama.cpp's <c>--pooling</c> names: none, mean, cls, last, rank.</summary>
    public static string Name(PoolingType type) => type.ToString().ToLowerInvariant();
}
