using Quanta.Inference.Chat;

namespace Quanta.Server.Scheduling;

/// <summary>
/// A request's sequence in a model's <see cref="BatchDecoder"/>: what its <see cref="ChatSession"/> evaluates in. Its
/// tokens go into the decoder's next steps and the request's thread waits (it does nothing else meanwhile) until the
/// logits of the last one are back. Disposing it (the request ended) frees its slot for the next request.
/// </summary>
public sealed class BatchSequence : IChatSequence, IDisposable
{
    readonly BatchDecoder _decoder;
    readonly ManualResetEventSlim _done = new(false);
    Exception? _error;
    int _disposed;

    internal BatchSequence(BatchDecoder decoder, int contextLength)
    {
        _decoder = decoder;
        ContextLength = contextLength;
    }

    /// <summary>The positions the sequence may hold (the cache's <c>num_ctx</c>).</summary>
    public int ContextLength { get; }

    /// <summary>The slot it is bound to (at <see cref="Start"/>).</summary>
    internal BatchDecoder.Slot? Slot { get; set; }

    /// <summary>The tokens being evaluated (<see cref="Append"/>) and how many of them the steps so far took.</summary>
    internal ReadOnlyMemory<int> Input { get; private set; }

    internal int Consumed { get; set; }

    /// <summary>A step is evaluating some of its tokens.</summary>
    internal bool InStep { get; set; }

    /// <summary>It got logits from the last step and the decoder waits for its next tokens before the next step.</summary>
    internal bool Expected { get; set; }

    /// <summary>Its request stopped waiting (cancelled) while a step was evaluating its tokens.</summary>
    internal bool Abandoned { get; set; }

    /// <summary>Its request ended.</summary>
    internal bool Released { get; set; }

    /// <inheritdoc/>
    public IReadOnlyList<int> Tokens => (IReadOnlyList<int>?)Slot?.Tokens ?? [];

    /// <inheritdoc/>
    public ReadOnlySpan<float> Logits => Slot is { } slot ? slot.LastLogits : [];

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="contextLength"/> is not the one the request was admitted with.</exception>
    public int Start(ReadOnlySpan<int> prompt, int contextLength)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (contextLength != ContextLength)
        {
            throw new ArgumentException($"the sequence was admitted for a context of {ContextLength}, not {contextLength}", nameof(contextLength));
        }
        return _decoder.Bind(this, prompt);
    }

    /// <inheritdoc/>
    public void Truncate(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var slot = Slot ?? throw new InvalidOperationException("the sequence has not started");
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, slot.Tokens.Count);
        _decoder.Truncate(slot, length);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">No tokens, or more than the context holds.</exception>
    public void Append(ReadOnlyMemory<int> tokens, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var slot = Slot ?? throw new InvalidOperationException("the sequence has not started");
        if (tokens.IsEmpty)
        {
            throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        }
        if (slot.Tokens.Count + tokens.Length > ContextLength)
        {
            throw new ArgumentException($"{slot.Tokens.Count} + {tokens.Length} positions do not fit the context of {ContextLength}", nameof(tokens));
        }
        cancellationToken.ThrowIfCancellationRequested();
        Input = tokens;
        Consumed = 0;
        Abandoned = false;
        _error = null;
        _done.Reset();
        _decoder.Submit(this);
        try
        {
            _done.Wait(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _decoder.Abandon(this);
            throw;
        }
        if (_error is { } error)
        {
            throw new InvalidOperationException($"decoding failed: {error.Message}", error);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">No rows, or more than the context holds.</exception>
    public void AppendEmbeddings(ReadOnlyMemory<float> embeddings, bool bidirectional, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var slot = Slot ?? throw new InvalidOperationException("the sequence has not started");
        cancellationToken.ThrowIfCancellationRequested();
        _decoder.AppendEmbeddings(slot, embeddings, bidirectional, ContextLength, cancellationToken);
    }

    /// <summary>The decoder is done with the tokens given to <see cref="Append"/> (under its gate).</summary>
    internal void Complete(Exception? error)
    {
        _error = error;
        _done.Set();
    }

    /// <summary>Frees the slot; the next request may use it (and the tokens it holds).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _decoder.Release(this);
        }
    }
}
