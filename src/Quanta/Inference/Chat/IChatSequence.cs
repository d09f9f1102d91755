namespace Quanta.Inference.Chat;

/// <summary>
/// The KV-cache sequence a <see cref="ChatSession"/> answers a request in: the tokens it holds, and the logits of the
/// last one evaluated. <see cref="ModelSequence"/> is the model's own cache (one conversation at a time, what
/// <c>quanta run</c> uses); a server decoding several requests in one batch gives each request a sequence of a shared
/// cache (<see cref="Models.SequenceCache"/>). Either way a request's logits are the same, bit for bit.
/// </summary>
/// <remarks>One request uses a sequence at a time, from one thread.</remarks>
public interface IChatSequence
{
    /// <summary>The tokens whose keys and values the sequence holds, in order.</summary>
    IReadOnlyList<int> Tokens { get; }

    /// <summary>
    /// Starts a request whose prompt is <paramref name="prompt"/>, in a context of <paramref name="contextLength"/>
    /// positions: keeps the longest prefix the cached tokens share with the prompt, less the last prompt token when all
    /// of them are cached (its logits are needed), forgets the rest, and returns how many tokens it kept (as Ollama's
    /// runner reuses a slot). Nothing is kept from a cache sized for another context.
    /// </summary>
    int Start(ReadOnlySpan<int> prompt, int contextLength);

    /// <summary>Forgets the cached tokens from <paramref name="length"/> on (a context shift).</summary>
    void Truncate(int length);

    /// <summary>
    /// Evaluates <paramref name="tokens"/> after the cached ones and leaves the logits of the last one in
    /// <see cref="Logits"/>. Cancelling abandons the evaluation (the sequence may then hold fewer tokens, never more
    /// than <see cref="Tokens"/> says).
    /// </summary>
    void Append(ReadOnlyMemory<int> tokens, CancellationToken cancellationToken);

    /// <summary>
    /// Evaluates rows of input embeddings (<c>[rows][n_embd]</c>: a picture's projected embeddings) after the cached
    /// tokens, as <see cref="Models.LlamaModel.EvaluateEmbeddings"/> (<paramref name="bidirectional"/>: the rows see each
    /// other both ways, Gemma 3's image tokens), leaving the last row's logits in <see cref="Logits"/>. Each row's
    /// position holds <see cref="ChatSession.ImagePosition"/> in <see cref="Tokens"/>.
    /// </summary>
    void AppendEmbeddings(ReadOnlyMemory<float> embeddings, bool bidirectional, CancellationToken cancellationToken);

    /// <summary>The logits of the last token evaluated (<c>[vocabulary]</c>).</summary>
    ReadOnlySpan<float> Logits { get; }
}
