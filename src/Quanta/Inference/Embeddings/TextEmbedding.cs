using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;

namespace Quanta.Inference.Embeddings;

/// <summary>A text's pooled embedding (not normalised: the runner's vector) and how many tokens it took.</summary>
public sealed record TextEmbedding(float[] Vector, int TokenCount);

/// <summary>The input of an embedding is longer than the context and was not to be cut (Ollama's 400).</summary>
public sealed class EmbeddingInputException(string message) : Exception(message);

/// <summary>
/// Embeddings of a decoder model, as llama.cpp's <c>llama-embedding</c> and Ollama's runner make them: the text
/// tokenized with the model's special tokens (BOS), evaluated as a sequence of its own, the hidden states after the
/// output norm pooled as the file's <c>pooling_type</c> says (<see cref="TransformerHyperparameters.Pooling"/>).
/// The vector is not normalised; <see cref="EmbeddingVectors"/> does what Ollama's server does to it.
/// </summary>
public static class TextEmbeddings
{
    /// <param name="contextLength">The most tokens the model takes (Ollama: <c>min(num_ctx, the model's context)</c>).</param>
    /// <param name="truncate">A longer input is cut to its first <paramref name="contextLength"/> tokens (Ollama's
    /// <c>truncate</c>, default true); otherwise it is an <see cref="EmbeddingInputException"/>.</param>
    /// <exception cref="EmbeddingInputException">Too long and not to be cut, or no tokens at all.</exception>
    public static TextEmbedding Embed(LlamaModel model, Tokenizer tokenizer, string text, int contextLength, bool truncate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        return Embed(model, tokenizer.Tokenize(text, addSpecial: true, parseSpecial: true), contextLength, truncate, cancellationToken);
    }

    /// <summary>
    /// As <see cref="Embed(LlamaModel, Tokenizer, string, int, bool, CancellationToken)"/>, for an input given as token ids
    /// (OpenAI's <c>input</c> as integers): evaluated as they are, no BOS added.
    /// </summary>
    /// <exception cref="EmbeddingInputException">Too long and not to be cut, no tokens at all, or an id outside the vocabulary.</exception>
    public static TextEmbedding Embed(LlamaModel model, int[] tokens, int contextLength, bool truncate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        foreach (var token in tokens)
        {
            if ((uint)token >= (uint)model.VocabularySize)
            {
                throw new EmbeddingInputException($"token {token} is out of the vocabulary (0..{model.VocabularySize - 1})");
            }
        }
        if (tokens.Length > contextLength)
        {
            if (!truncate)
            {
                // Ollama's runner: "the input length exceeds the context length".
                throw new EmbeddingInputException("the input length exceeds the context length");
            }
            tokens = tokens[..contextLength];
        }
        if (tokens.Length == 0)
        {
            throw new EmbeddingInputException("the input has no tokens to embed");
        }
        return new TextEmbedding(Pool(model, tokens, contextLength, cancellationToken), tokens.Length);
    }

    /// <summary>The pooled, unnormalised embedding of <paramref name="tokens"/> (already tokenized).</summary>
    public static float[] Pool(LlamaModel model, ReadOnlySpan<int> tokens, int contextLength, CancellationToken cancellationToken = default) =>
        Pool(model, tokens, contextLength, model.Hyperparameters.Pooling, cancellationToken);

    /// <summary>As <see cref="Pool(LlamaModel, ReadOnlySpan{int}, int, CancellationToken)"/>, with another pooling (llama.cpp's <c>--pooling</c>).</summary>
    public static float[] Pool(LlamaModel model, ReadOnlySpan<int> tokens, int contextLength, PoolingType pooling, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var width = model.Hyperparameters.EmbeddingLength;
        var states = new float[tokens.Length * width];
        model.EvaluateHiddenStates(tokens, Math.Max(contextLength, tokens.Length), states, cancellationToken);
        return EmbeddingPooling.Pool(states, tokens.Length, width, pooling, model.Width);
    }
}
