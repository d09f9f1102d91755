using Quanta.Formats;

namespace Quanta.Inference.Models;

/// <summary>
/// The KV cache of several sequences decoded together (<c>QUANTA_NUM_PARALLEL</c>): sequence ids 0..<see cref="Sequences"/>−1,
/// each with cells for <see cref="ContextLength"/> positions of its own (as llama.cpp's per-sequence KV streams, and as
/// Ollama gives each parallel slot <c>num_ctx</c>), allocated the first time a sequence is used. A sequence attends to its
/// own cells only, so its logits are exactly those of evaluating it alone.
/// <para>
/// How a scheduler drives it (one thread; the model runs one call at a time):
/// <code>
/// var cache = model.CreateSequenceCache(sequences: 4, contextLength: 4096);
/// var logits = new float[4 * model.VocabularySize];
/// // each step: new requests take a free id and send their whole prompt, running ones their last sampled token
/// var batch = new List&lt;SequenceInput&gt; { new(0, promptTokens), new(2, new[] { lastToken }) };
/// var rows = model.Decode(cache, batch, logits, cancellationToken);   // row i: batch[i]'s next-token logits
/// // sample each sequence from logits[i * vocabulary ..]; a finished or cancelled sequence frees its id:
/// cache.Clear(2);
/// // a chat that shares a prefix with its previous turn keeps it: cache.Truncate(0, sharedLength)
/// </code>
/// </para>
/// </summary>
public sealed class SequenceCache
{
    readonly TransformerHyperparameters _hp;
    readonly GgmlType _keyType;
    readonly KvCache?[] _slots;

    internal SequenceCache(LlamaModel model, TransformerHyperparameters hp, int sequences, int contextLength, GgmlType keyType)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sequences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        Model = model;
        _hp = hp;
        _keyType = keyType;
        ContextLength = contextLength;
        _slots = new KvCache?[sequences];
    }

    internal LlamaModel Model { get; }

    /// <summary>How many sequences the cache holds (ids 0..Sequences−1).</summary>
    public int Sequences => _slots.Length;

    /// <summary>The positions each sequence may hold.</summary>
    public int ContextLength { get; }

    /// <summary>The positions <paramref name="sequence"/> holds: where its next tokens go.</summary>
    public int Length(int sequence)
    {
        CheckSequence(sequence);
        return _slots[sequence]?.Length ?? 0;
    }

    /// <summary>Empties <paramref name="sequence"/> (llama.cpp's <c>llama_kv_cache_seq_rm(ctx, seq, -1, -1)</c>): its id is free for a new sequence.</summary>
    public void Clear(int sequence) => Truncate(sequence, 0);

    /// <summary>
    /// Forgets the positions of <paramref name="sequence"/> from <paramref name="length"/> on, so that it continues there
    /// (<c>llama_kv_cache_seq_rm(ctx, seq, length, -1)</c>); the cells are zeroed, as a new cache starts.
    /// </summary>
    public void Truncate(int sequence, int length)
    {
        CheckSequence(sequence);
        if (_slots[sequence] is { } slot)
        {
            slot.Truncate(length, _hp);
        }
        else
        {
            ArgumentOutOfRangeException.ThrowIfNotEqual(length, 0);
        }
    }

    /// <summary>
    /// Allocates the cells of every sequence now rather than on first use, as llama.cpp allocates its whole KV cache when
    /// the context is made: a server's memory is then what it will be under full load from the start.
    /// </summary>
    public void Reserve()
    {
        for (var sequence = 0; sequence < _slots.Length; sequence++)
        {
            Slot(sequence);
        }
    }

    internal void CheckSequence(int sequence)
    {
        if ((uint)sequence >= (uint)_slots.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(sequence), $"sequence {sequence} is not one of the cache's 0..{_slots.Length - 1}");
        }
    }

    /// <summary>The cells of <paramref name="sequence"/>, allocated on first use.</summary>
    internal KvCache Slot(int sequence)
    {
        CheckSequence(sequence);
        if (_slots[sequence] is not { } slot)
        {
            slot = new KvCache(_hp, ContextLength, _keyType);
            slot.Clear(ContextLength);
            _slots[sequence] = slot;
        }
        return slot;
    }
}
