using System.Runtime.InteropServices;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Embeddings;

/// <summary>
/// One vector from a sequence's hidden states (after the output norm, <c>[tokens][embedding]</c>), as llama.cpp's
/// graph pools them: mean as <c>ggml_mul_mat(ggml_cont(ggml_transpose(states)), inp_mean)</c> — each dimension's
/// values over the tokens dotted, in ggml's F32 order (<see cref="F32Dot"/>), with a vector of <c>1/tokens</c> —, cls and
/// last as <c>ggml_get_rows</c> of the first or last token.
/// </summary>
public static class EmbeddingPooling
{
    /// <exception cref="NotSupportedException"><see cref="PoolingType.Rank"/>: a reranker, not an embedding model.</exception>
    public static float[] Pool(ReadOnlySpan<float> states, int tokens, int width, PoolingType pooling, KernelWidth kernelWidth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (states.Length < (long)tokens * width)
        {
            throw new ArgumentException($"{states.Length} floats cannot hold {tokens} × {width} states", nameof(states));
        }
        switch (pooling)
        {
            case PoolingType.Mean:
                return Mean(states, tokens, width, kernelWidth);
            case PoolingType.Cls:
                return states[..width].ToArray();
            case PoolingType.Last or PoolingType.None:
                return states.Slice((tokens - 1) * width, width).ToArray();
            default:
                throw new NotSupportedException($"pooling type {PoolingTypes.Name(pooling)} does not make embeddings");
        }
    }

    static float[] Mean(ReadOnlySpan<float> states, int tokens, int width, KernelWidth kernelWidth)
    {
        // llama.cpp's inp_mean holds 1.0f/n for each of the sequence's tokens.
        var weights = new float[tokens];
        Array.Fill(weights, 1f / tokens);
        var column = new float[tokens];
        var dot = new F32Dot();
        var result = new float[width];
        for (var d = 0; d < width; d++)
        {
            for (var t = 0; t < tokens; t++)
            {
                column[t] = states[(t * width) + d];
            }
            result[d] = dot.Dot(MemoryMarshal.AsBytes(column.AsSpan()), MemoryMarshal.AsBytes(weights.AsSpan()), tokens, kernelWidth);
        }
        return result;
    }
}
