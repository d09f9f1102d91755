namespace Quanta.Inference.Chat;

/// <summary>
/// The model's own KV cache (<see cref="Models.LlamaModel.EvaluateLast"/>) as the sequence of one conversation: what a
/// <see cref="ChatSession"/> uses when it is not given a sequence. Several sessions of one model take turns in it; a
/// session whose tokens another one overwrote starts again from its first token.
/// </summary>
public sealed class ModelSequence : IChatSequence
{
    readonly ChatModel _model;
    readonly List<int> _tokens = [];
    float[] _logits = [];
    int _contextLength;

    public ModelSequence(ChatModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <inheritdoc/>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <inheritdoc/>
    public ReadOnlySpan<float> Logits => _logits;

    /// <inheritdoc/>
    public int Start(ReadOnlySpan<int> prompt, int contextLength)
    {
        var llama = _model.Model;
        if (!ReferenceEquals(_model.CacheOwner, this) || llama.SequenceLength != _tokens.Count || contextLength != _contextLength)
        {
            // A cache sized for another num_ctx, or one another conversation filled, is not reused.
            _tokens.Clear();
        }
        _model.CacheOwner = this;
        _contextLength = contextLength;
        var common = ReusablePrefix(_tokens, prompt);
        _tokens.RemoveRange(common, _tokens.Count - common);
        if (common > 0)
        {
            llama.TruncateSequence(common);
        }
        return common;
    }

    /// <inheritdoc/>
    public void Truncate(int length)
    {
        _tokens.RemoveRange(length, _tokens.Count - length);
        if (ReferenceEquals(_model.CacheOwner, this))
        {
            _model.Model.TruncateSequence(length);
        }
    }

    /// <inheritdoc/>
    public void Append(ReadOnlyMemory<int> tokens, CancellationToken cancellationToken)
    {
        var llama = _model.Model;
        if (_logits.Length != llama.VocabularySize)
        {
            _logits = new float[llama.VocabularySize];
        }
        // Position 0 starts a new sequence in a cache of _contextLength positions.
        llama.EvaluateLast(tokens.Span, _tokens.Count, _contextLength, _logits, cancellationToken);
        _tokens.AddRange(tokens.Span);
    }

    /// <inheritdoc/>
    public void AppendEmbeddings(ReadOnlyMemory<float> embeddings, bool bidirectional, CancellationToken cancellationToken)
    {
        var llama = _model.Model;
        if (_logits.Length != llama.VocabularySize)
        {
            _logits = new float[llama.VocabularySize];
        }
        llama.EvaluateEmbeddings(embeddings.Span, _tokens.Count, _contextLength, _logits, bidirectional, cancellationToken);
        _tokens.AddRange(Enumerable.Repeat(ChatSession.ImagePosition, embeddings.Length / llama.Hyperparameters.EmbeddingLength));
    }

    /// <summary>
    /// How many of <paramref name="cached"/> a request for <paramref name="prompt"/> keeps: the prefix they share, less the
    /// last prompt token when the cache holds all of them (a request needs the logits of its last prompt token).
    /// </summary>
    public static int ReusablePrefix(IReadOnlyList<int> cached, ReadOnlySpan<int> prompt)
    {
        ArgumentNullException.ThrowIfNull(cached);
        var common = 0;
        var limit = Math.Min(cached.Count, prompt.Length);
        // A picture's positions are never reused: a cache keeps the prompt up to the first one.
        while (common < limit && cached[common] == prompt[common] && prompt[common] != ChatSession.ImagePosition)
        {
            common++;
        }
        return common == prompt.Length ? Math.Max(common - 1, 0) : common;
    }
}
