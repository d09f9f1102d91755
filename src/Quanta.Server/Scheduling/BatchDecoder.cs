using Quanta.Inference.Chat;
using Quanta.Inference.Models;

namespace Quanta.Server.Scheduling;

/// <summary>
/// Continuous batching over one loaded model, as Ollama's runner (and llama.cpp's server) decodes its parallel slots:
/// up to <c>QUANTA_NUM_PARALLEL</c> requests each hold a sequence of one shared KV cache (<see cref="SequenceCache"/>:
/// parallel × <c>num_ctx</c> positions), and a loop of its own gathers, each step, the next token of every generating
/// sequence and a part of the prompts of newly admitted ones into one <see cref="LlamaModel.Decode"/> call. A request
/// joins between two steps and leaves when it ends (its sequence's tokens stay cached for the next request that shares
/// their prefix, as Ollama reuses a slot's cache). Each request runs its own sampler, stop strings, grammar and tool
/// parsing on its own thread (<see cref="ChatSession"/> over a <see cref="BatchSequence"/>); the engine gives each
/// sequence the logits it would have alone, bit for bit, so a request's answer does not depend on its neighbours.
/// </summary>
/// <remarks>
/// <para>
/// A step starts once every sequence that got logits from the previous step has sent its next tokens (or ended), so
/// that the sequences decode together rather than one after the other. A long prompt is evaluated a piece of at most
/// <see cref="SchedulerOptions.PromptTokensPerStep"/> tokens per step (shared among the prompts waiting), so a new
/// request does not stall the generating ones for the whole of its prompt.
/// </para>
/// <para>
/// The context length is the cache's: requests with another <c>num_ctx</c> wait until the sequences running end, then
/// the cache is made again for them (what Ollama does by reloading the runner), in the order requests came.
/// </para>
/// </remarks>
internal sealed class BatchDecoder : IDisposable
{
    /// <summary>How long a step waits for the sequences that got logits from the previous one to send their next token.</summary>
    const int ExpectedWaitMilliseconds = 20;

    readonly LlamaModel _model;
    readonly int _promptTokensPerStep;
    readonly object _gate = new();
    readonly object _compute = new();
    readonly Slot[] _slots;
    readonly LinkedList<Admission> _admissions = new();
    readonly List<BatchSequence> _pending = [];
    readonly List<BatchSequence> _step = [];
    readonly List<SequenceInput> _inputs = [];
    readonly float[] _logits;
    SequenceCache? _cache;
    Thread? _thread;
    int _active;
    int _expected;
    long _uses;
    bool _stopping;

    public BatchDecoder(LlamaModel model, int parallel, int promptTokensPerStep)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallel, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokensPerStep, 1);
        _model = model;
        _promptTokensPerStep = promptTokensPerStep;
        _slots = new Slot[parallel];
        for (var i = 0; i < parallel; i++)
        {
            _slots[i] = new Slot(i);
        }
        _logits = new float[(long)parallel * model.VocabularySize];
    }

    /// <summary>The sequences that may decode at once.</summary>
    public int Parallel => _slots.Length;

    /// <summary>The positions each sequence holds (the <c>num_ctx</c> of the requests running); 0 before the first.</summary>
    public int ContextLength
    {
        get
        {
            lock (_gate)
            {
                return _cache?.ContextLength ?? 0;
            }
        }
    }

    /// <summary>The number of steps run so far (for tests and logs).</summary>
    public long Steps { get; private set; }

    /// <summary>The most sequences one step has decoded together so far.</summary>
    public int WidestStep { get; private set; }

    /// <summary>
    /// A sequence for a request with a context of <paramref name="contextLength"/> positions: at once when a slot is
    /// free and the cache has that context, else when one is (requests are admitted in order). Cancelling leaves the
    /// queue.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    /// <exception cref="ObjectDisposedException">The model was unloaded.</exception>
    public async Task<BatchSequence> AdmitAsync(int contextLength, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        var admission = new Admission(contextLength);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            admission.Node = _admissions.AddLast(admission);
            Admit();
        }
        using var registration = cancellationToken.Register(() =>
        {
            lock (_gate)
            {
                if (admission.Node?.List is not null)
                {
                    _admissions.Remove(admission.Node);
                    admission.Completion.TrySetCanceled(cancellationToken);
                    // The head may have been waiting for a reload this request held up.
                    Admit();
                }
            }
        });
        return await admission.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="work"/> (an embedding on the same model) between two steps, alone on the model.</summary>
    public T Exclusive<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_compute)
        {
            return work();
        }
    }

    /// <summary>Admits waiting requests in order while slots are free (under the gate).</summary>
    void Admit()
    {
        while (_admissions.First is { } node)
        {
            var admission = node.Value;
            if (_cache is null || (_cache.ContextLength != admission.ContextLength && _active == 0))
            {
                // The first request, or one with another num_ctx once the running ones ended: a cache of its context.
                _cache = _model.CreateSequenceCache(_slots.Length, admission.ContextLength);
                // All of it now (what the scheduler's estimate counted): memory does not grow later under load.
                _cache.Reserve();
                foreach (var slot in _slots)
                {
                    slot.Tokens.Clear();
                }
            }
            if (_cache.ContextLength != admission.ContextLength || _active == _slots.Length)
            {
                return;
            }
            _admissions.RemoveFirst();
            admission.Node = null;
            _active++;
            if (!admission.Completion.TrySetResult(new BatchSequence(this, _cache.ContextLength)))
            {
                _active--;
            }
        }
    }

    /// <summary>
    /// Binds <paramref name="sequence"/> to the free slot whose cached tokens share the longest prefix with
    /// <paramref name="prompt"/> (else the one used least recently) and forgets what the prompt does not share;
    /// returns the tokens kept.
    /// </summary>
    internal int Bind(BatchSequence sequence, ReadOnlySpan<int> prompt)
    {
        Slot? best = null;
        var bestKept = -1;
        lock (_gate)
        {
            if (sequence.Slot is { } bound)
            {
                best = bound;
                bestKept = ModelSequence.ReusablePrefix(bound.Tokens, prompt);
            }
            else
            {
                foreach (var slot in _slots)
                {
                    if (slot.Owner is not null)
                    {
                        continue;
                    }
                    var kept = ModelSequence.ReusablePrefix(slot.Tokens, prompt);
                    if (best is null || kept > bestKept || (kept == bestKept && slot.LastUsed < best.LastUsed))
                    {
                        best = slot;
                        bestKept = kept;
                    }
                }
                if (best is null)
                {
                    throw new InvalidOperationException("no free sequence for an admitted request");
                }
                best.Owner = sequence;
                best.LastUsed = ++_uses;
                sequence.Slot = best;
            }
        }
        Truncate(best, bestKept);
        return bestKept;
    }

    /// <summary>
    /// Evaluates a picture's embedding rows after the tokens of <paramref name="slot"/> (its owner is between steps),
    /// alone on the model between two steps: a picture is not part of a batched step (its rows are not tokens, and
    /// Gemma 3's need one forward pass of their own).
    /// </summary>
    internal void AppendEmbeddings(Slot slot, ReadOnlyMemory<float> embeddings, bool bidirectional, int contextLength, CancellationToken cancellationToken)
    {
        var rows = embeddings.Length / _model.Hyperparameters.EmbeddingLength;
        if (rows == 0 || slot.Tokens.Count + rows > contextLength)
        {
            throw new ArgumentException($"{slot.Tokens.Count} + {rows} positions do not fit the context of {contextLength}", nameof(embeddings));
        }
        lock (_compute)
        {
            _model.DecodeEmbeddings(_cache!, slot.Index, embeddings.Span, slot.LogitsArray(_model.VocabularySize), bidirectional, cancellationToken);
            lock (_gate)
            {
                slot.Tokens.AddRange(Enumerable.Repeat(ChatSession.ImagePosition, rows));
            }
        }
    }

    /// <summary>Forgets the tokens of <paramref name="slot"/> from <paramref name="length"/> on (its owner is between steps).</summary>
    internal void Truncate(Slot slot, int length)
    {
        // Only the slot's own cells change, and no step uses them now: no need to wait for a step to end.
        lock (_gate)
        {
            _cache!.Truncate(slot.Index, length);
            slot.Tokens.RemoveRange(length, slot.Tokens.Count - length);
        }
    }

    /// <summary>Queues the tokens of <paramref name="sequence"/> for the next steps (under the gate).</summary>
    internal void Submit(BatchSequence sequence)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (sequence.Expected)
            {
                sequence.Expected = false;
                _expected--;
            }
            _pending.Add(sequence);
            if (_thread is null)
            {
                _thread = new Thread(Loop) { IsBackground = true, Name = "quanta batch decoder" };
                _thread.Start();
            }
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// The request of <paramref name="sequence"/> stopped waiting for its tokens (cancelled): they leave the queue, or,
    /// when a step is evaluating them, the step finishes them and nobody waits for the logits.
    /// </summary>
    internal void Abandon(BatchSequence sequence)
    {
        lock (_gate)
        {
            if (sequence.InStep)
            {
                sequence.Abandoned = true;
            }
            else if (_pending.Remove(sequence))
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>
    /// The request of <paramref name="sequence"/> ended: its slot is free for the next one (once the step that may be
    /// evaluating its last tokens ends), the slot's tokens stay cached for a request that shares their prefix.
    /// </summary>
    internal void Release(BatchSequence sequence)
    {
        lock (_gate)
        {
            if (sequence.Expected)
            {
                sequence.Expected = false;
                _expected--;
            }
            _pending.Remove(sequence);
            sequence.Released = true;
            if (!sequence.InStep)
            {
                Free(sequence);
            }
            Monitor.PulseAll(_gate);
        }
    }

    void Free(BatchSequence sequence)
    {
        if (sequence.Slot is { } slot)
        {
            slot.Owner = null;
            slot.LastUsed = ++_uses;
        }
        _active--;
        Admit();
    }

    /// <summary>The decoding loop: one step whenever tokens wait and no sequence that just got logits is still sampling.</summary>
    void Loop()
    {
        var vocabulary = _model.VocabularySize;
        while (true)
        {
            SequenceCache cache;
            lock (_gate)
            {
                var stepEnded = Environment.TickCount64;
                while (!_stopping)
                {
                    if (_pending.Count == 0)
                    {
                        Monitor.Wait(_gate);
                        continue;
                    }
                    // Tokens wait: wait a little longer for the sequences still sampling, not for one that stopped
                    // calling (its request ended without giving the sequence back yet, or its thread is starved).
                    var waited = Environment.TickCount64 - stepEnded;
                    if (_expected == 0 || waited >= ExpectedWaitMilliseconds)
                    {
                        break;
                    }
                    Monitor.Wait(_gate, TimeSpan.FromMilliseconds(ExpectedWaitMilliseconds - waited));
                }
                if (_stopping)
                {
                    return;
                }
                cache = _cache!;
                TakeStep();
            }
            Exception? error = null;
            try
            {
                lock (_compute)
                {
                    _model.Decode(cache, _inputs, _logits);
                }
            }
            catch (Exception e)
            {
                // A bug or an exhausted machine: the requests of this step fail, the others go on.
                error = e;
            }
            lock (_gate)
            {
                Steps++;
                WidestStep = Math.Max(WidestStep, _step.Count);
                for (var i = 0; i < _step.Count; i++)
                {
                    var sequence = _step[i];
                    var take = _inputs[i].Tokens;
                    sequence.InStep = false;
                    var slot = sequence.Slot!;
                    if (error is not null)
                    {
                        // What the failed step wrote is unknown: the slot starts again empty.
                        cache.Clear(slot.Index);
                        slot.Tokens.Clear();
                        _pending.Remove(sequence);
                        sequence.Complete(error);
                    }
                    else
                    {
                        // The cache now holds these tokens whether or not anyone still waits for them.
                        slot.Tokens.AddRange(take.Span);
                        sequence.Consumed += take.Length;
                        if (sequence.Consumed == sequence.Input.Length && !sequence.Abandoned)
                        {
                            _pending.Remove(sequence);
                            _logits.AsSpan(i * vocabulary, vocabulary).CopyTo(slot.Logits(vocabulary));
                            if (!sequence.Released)
                            {
                                sequence.Expected = true;
                                _expected++;
                            }
                            sequence.Complete(null);
                        }
                        else if (sequence.Abandoned)
                        {
                            // Cancelled during the step: the rest of its prompt is not evaluated.
                            _pending.Remove(sequence);
                        }
                    }
                    if (sequence.Released)
                    {
                        Free(sequence);
                    }
                }
                _step.Clear();
                _inputs.Clear();
            }
        }
    }

    /// <summary>
    /// Chooses the tokens of the next step (under the gate): every sequence's next token, and the prompts' next pieces,
    /// in the order they came, up to <see cref="_promptTokensPerStep"/> prompt tokens.
    /// </summary>
    void TakeStep()
    {
        var budget = _promptTokensPerStep;
        foreach (var sequence in _pending)
        {
            var left = sequence.Input.Length - sequence.Consumed;
            var take = left == 1 ? 1 : Math.Min(left, budget);
            if (take == 0)
            {
                continue;
            }
            if (left > 1)
            {
                budget -= take;
            }
            sequence.InStep = true;
            _step.Add(sequence);
            _inputs.Add(new SequenceInput(sequence.Slot!.Index, sequence.Input.Slice(sequence.Consumed, take)));
        }
    }

    /// <summary>Stops the loop; the model is not used after (the scheduler unloads only a runner no request holds).</summary>
    public void Dispose()
    {
        Thread? thread;
        lock (_gate)
        {
            _stopping = true;
            thread = _thread;
            foreach (var admission in _admissions)
            {
                admission.Completion.TrySetException(new ObjectDisposedException(nameof(BatchDecoder)));
            }
            _admissions.Clear();
            foreach (var sequence in _pending)
            {
                if (!sequence.InStep)
                {
                    sequence.Complete(new ObjectDisposedException(nameof(BatchDecoder)));
                }
            }
            Monitor.PulseAll(_gate);
        }
        if (thread is not null && thread != Thread.CurrentThread)
        {
            thread.Join();
        }
    }

    /// <summary>One sequence of the cache: the tokens it holds, the logits of its last one, who uses it.</summary>
    internal sealed class Slot(int index)
    {
        float[] _logits = [];

        public int Index { get; } = index;

        /// <summary>The tokens the sequence holds (the cache's cells of this slot), in order.</summary>
        public List<int> Tokens { get; } = [];

        /// <summary>The request using it, or null when it is free.</summary>
        public BatchSequence? Owner { get; set; }

        /// <summary>When it was last bound or freed, to reuse the one used least recently.</summary>
        public long LastUsed { get; set; }

        public Span<float> Logits(int vocabulary) => LogitsArray(vocabulary);

        public float[] LogitsArray(int vocabulary)
        {
            if (_logits.Length != vocabulary)
            {
                _logits = new float[vocabulary];
            }
            return _logits;
        }

        public ReadOnlySpan<float> LastLogits => _logits;
    }

    sealed class Admission(int contextLength)
    {
        public int ContextLength { get; } = contextLength;

        public TaskCompletionSource<BatchSequence> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Admission>? Node { get; set; }
    }
}
