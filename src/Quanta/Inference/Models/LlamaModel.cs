using System.Runtime.InteropServices;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Models;

/// <summary>
/// The forward pass of the llama-like transformers as llama.cpp builds their graphs: llama (and mistral, which
/// llama.cpp's converter writes as <c>llama</c>; with Mixtral-style experts too), qwen2, qwen2moe, qwen3, gemma,
/// gemma2, gemma3 (text) and phi3. This class is the skeleton they share — embedding, the block loop (norm, attention over the KV
/// cache, residual, norm, feed-forward, residual), the output norm and matrix — and each family's file
/// (<see cref="LlamaFamily"/>, <see cref="QwenFamily"/>, <see cref="GemmaFamily"/>, <see cref="Phi3Family"/>) says which
/// tensors a block has and how it differs. Weights are read in place from the mapped GGUF; activations go through
/// ggml-cpu's conversions (<see cref="IVecDot"/>), keys and values are stored in an F16 cache as llama.cpp's default
/// cache type does (keys optionally Q8_0), and a prompt is evaluated in micro-batches (<see cref="MicroBatch"/>) with
/// the logits of every position (or of the last only, <see cref="EvaluateLast"/>); attention runs on every thread
/// (<see cref="AttentionHeads"/>). The cache keeps every layer's keys and values, so a sequence can go on one token at a time after its
/// prompt (<see cref="Evaluate(ReadOnlySpan{int}, int, int, float[], CancellationToken)"/>).
/// </summary>
public sealed class LlamaModel : IDisposable
{
    /// <summary>The architectures this forward pass runs.</summary>
    public static IReadOnlyList<string> SupportedArchitectures { get; } =
        [.. LlamaFamily.Architectures, .. GemmaFamily.Architectures, .. QwenFamily.Architectures, .. Phi3Family.Architectures];

    readonly ArchitectureOptions _options;
    readonly TransformerLayer[] _layers;
    readonly GgufTensor _tokenEmbedding;
    readonly float[] _outputNorm;
    readonly LinearWeights _output;
    readonly WorkerPool _pool;
    readonly MatMul _matMul;
    readonly AttentionHeads _attention;
    readonly ParallelLoop _tokenGroups;
    readonly KernelWidth _width;
    Workspace? _workspace;
    int _microBatch = 512;
    KvCache? _cache;
    KvCache? _hiddenCache;
    int[] _batchTokens = [];
    Run[] _runs = [];

    LlamaModel(GgufFile file, TransformerHyperparameters hp, int threads, KernelWidth width, KvCacheTypes cacheTypes)
    {
        Hyperparameters = hp;
        CacheTypes = cacheTypes;
        _width = width;
        var tensors = new ModelTensors(file);
        var e = hp.EmbeddingLength;
        _tokenEmbedding = tensors.Require("token_embd.weight", e, -1);
        VocabularySize = checked((int)_tokenEmbedding.Shape[1]);
        _outputNorm = tensors.Vector("output_norm.weight", e);
        // Gemma (and files without output.weight) reuse the token embeddings as the output matrix.
        _output = new LinearWeights(tensors.Optional("output.weight", e, VocabularySize) ?? _tokenEmbedding);
        (_options, _layers) = hp.Architecture switch
        {
            _ when LlamaFamily.Architectures.Contains(hp.Architecture) => LlamaFamily.Build(tensors, hp),
            _ when QwenFamily.Architectures.Contains(hp.Architecture) => QwenFamily.Build(tensors, hp),
            _ when GemmaFamily.Architectures.Contains(hp.Architecture) => GemmaFamily.Build(tensors, hp),
            _ => Phi3Family.Build(tensors, hp),
        };
        _pool = new WorkerPool(threads);
        _matMul = new MatMul(_pool, width);
        _attention = new AttentionHeads(_pool, width);
        _tokenGroups = new ParallelLoop(_pool);
    }

    /// <summary>Tokens per item when element-wise work between the products is spread over the threads.</summary>
    const int ActivationTokens = 8;

    public TransformerHyperparameters Hyperparameters { get; }

    public int VocabularySize { get; }

    /// <summary>The SIMD width the kernels run at.</summary>
    internal KernelWidth Width => _width;

    /// <summary>The KV cache's element types.</summary>
    public KvCacheTypes CacheTypes { get; }

    /// <summary>
    /// Builds the forward pass over an open file (which must stay open while the model is used). Unsupported
    /// architectures, missing tensors and unexpected shapes are <see cref="GgufFormatException"/>s naming them.
    /// </summary>
    public static LlamaModel Load(GgufFile file, int threads, KernelWidth? width = null) => Load(file, threads, width, KvCacheTypes.Default);

    /// <summary>As <see cref="Load(GgufFile, int, KernelWidth?)"/>, with the KV cache's types (<c>--cache-type-k/v</c>).</summary>
    public static LlamaModel Load(GgufFile file, int threads, KernelWidth? width, KvCacheTypes cacheTypes)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(cacheTypes);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var architecture = file.Metadata.GetStringOrNull(GgufKeys.Architecture) ?? throw new GgufFormatException($"the model has no {GgufKeys.Architecture} key");
        if (!SupportedArchitectures.Contains(architecture))
        {
            throw new GgufFormatException($"architecture '{architecture}' cannot be run yet (supported: {string.Join(", ", SupportedArchitectures)})");
        }
        var hp = TransformerHyperparameters.FromMetadata(file.Metadata);
        if (file.Metadata.GetStringOrNull($"{architecture}.rope.scaling.type") == "yarn")
        {
            // YaRN mixes interpolated and extrapolated angles per dimension (ggml's ext_factor); without it the
            // angles would silently be wrong.
            throw new GgufFormatException($"{architecture}.rope.scaling.type 'yarn' cannot be run yet");
        }
        if (hp.KeyLength % GgmlTypeInfo.Of(cacheTypes.Keys).BlockElements != 0)
        {
            throw new GgufFormatException($"a {GgmlTypeInfo.Of(cacheTypes.Keys).Name} key cache needs a head size that is a multiple of {GgmlTypeInfo.Of(cacheTypes.Keys).BlockElements}; this model's is {hp.KeyLength}");
        }
        // Every matrix is read whole by the first forward pass; the token embeddings only row by row, so their pages
        // are left to come in as tokens use them (mapping all of them would add their size to the resident set).
        foreach (var tensor in file.Tensors)
        {
            if (tensor.Shape.Count == 2 && tensor.Name != "token_embd.weight")
            {
                tensor.Prefault();
            }
        }
        return new LlamaModel(file, hp, threads, width ?? KernelWidths.Current, cacheTypes);
    }

    /// <summary>
    /// Evaluates <paramref name="tokens"/> as one batch from position 0 and writes the logits of every position to
    /// <paramref name="logits"/> (<c>[tokens][vocabulary]</c>). Buffers are kept for the next call (one caller at a
    /// time), so only a batch longer than any before allocates.
    /// </summary>
    public void Evaluate(ReadOnlySpan<int> tokens, float[] logits, CancellationToken cancellationToken = default) =>
        Evaluate(tokens, position: 0, contextLength: tokens.Length, logits, cancellationToken);

    /// <summary>
    /// Evaluates <paramref name="tokens"/> as one batch at positions <paramref name="position"/>.. of the current
    /// sequence, attending to the keys and values already cached for the positions before, and writes the logits
    /// of every token of the batch (<c>[tokens][vocabulary]</c>). Position 0 starts a new sequence whose cache
    /// holds <paramref name="contextLength"/> positions; a later call must continue exactly where the previous one
    /// ended (as llama.cpp's <c>llama_decode</c> with one sequence appends to its KV cache).
    /// </summary>
    public void Evaluate(ReadOnlySpan<int> tokens, int position, int contextLength, float[] logits, CancellationToken cancellationToken = default) =>
        EvaluateInMicroBatches(tokens, position, contextLength, logits, firstOutput: 0, cancellationToken);

    /// <summary>
    /// As <see cref="Evaluate(ReadOnlySpan{int}, int, int, float[], CancellationToken)"/>, but only the last token's
    /// logits are computed (<c>[vocabulary]</c>), as llama.cpp does for a batch that asks for no other outputs.
    /// </summary>
    public void EvaluateLast(ReadOnlySpan<int> tokens, int position, int contextLength, float[] logits, CancellationToken cancellationToken = default) =>
        EvaluateInMicroBatches(tokens, position, contextLength, logits, tokens.Length - 1, cancellationToken);

    /// <summary>
    /// As <see cref="Evaluate(ReadOnlySpan{int}, int, int, float[], CancellationToken)"/>, but only the logits of
    /// tokens <paramref name="firstOutput"/>.. of the batch are computed, written from row 0
    /// (<c>[tokens − firstOutput][vocabulary]</c>): llama.cpp's batch with <c>logits[i]</c> set from that token on, as
    /// llama-perplexity asks for a chunk's scored half. The batch stays one forward pass per <see cref="MicroBatch"/>
    /// (each weight sees the same calls as with every output), and the output matrix runs on the asked rows only;
    /// <paramref name="firstOutput"/> = <c>tokens.Length</c> computes no logits at all.
    /// </summary>
    public void EvaluateFrom(ReadOnlySpan<int> tokens, int position, int contextLength, int firstOutput, float[] logits, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstOutput);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstOutput, tokens.Length);
        EvaluateInMicroBatches(tokens, position, contextLength, logits, firstOutput, cancellationToken);
    }

    /// <summary>
    /// llama.cpp's <c>n_ubatch</c>: a longer batch is evaluated in pieces of at most this many tokens through the KV
    /// cache, which bounds the buffers of a forward pass. The logits do not change: each token's products are its
    /// own, and the cells a piece does not see yet are masked to exact zeros either way.
    /// </summary>
    public int MicroBatch
    {
        get => _microBatch;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _microBatch = value;
        }
    }

    /// <summary>The micro-batches of a batch whose tokens <paramref name="firstOutput"/>.. have their logits computed (written from row 0).</summary>
    void EvaluateInMicroBatches(ReadOnlySpan<int> tokens, int position, int contextLength, float[] logits, int firstOutput, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(logits);
        var n = tokens.Length;
        if (n == 0)
        {
            throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        }
        var rows = n - firstOutput;
        if (logits.Length < (long)rows * VocabularySize)
        {
            throw new ArgumentException($"{logits.Length} floats cannot hold {rows} × {VocabularySize} logits", nameof(logits));
        }
        var cache = SequenceCacheFor(n, position, contextLength);
        for (var done = 0; done < n; done += _microBatch)
        {
            var piece = Math.Min(_microBatch, n - done);
            var skip = firstOutput - done;
            var run = skip <= 0 ? new Run(cache, 0, piece, position + done, Outputs.All)
                : skip >= piece ? new Run(cache, 0, piece, position + done, Outputs.None)
                : new Run(cache, 0, piece, position + done, Outputs.From) { OutputFrom = skip };
            Forward(tokens.Slice(done, piece), [], [run], logits, Math.Max(0, -skip) * VocabularySize, hidden: false, cancellationToken);
        }
    }

    /// <summary>
    /// The cache of the current sequence, ready for <paramref name="n"/> positions at <paramref name="position"/>: a new
    /// one (or the old one cleared) at position 0, else the one the sequence continues in.
    /// </summary>
    KvCache SequenceCacheFor(int n, int position, int contextLength)
    {
        if (position == 0)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, n);
            if (_cache is null || _cache.Capacity < KvCache.Pad(contextLength))
            {
                _cache = new KvCache(Hyperparameters, contextLength, CacheTypes.Keys);
            }
            _cache.Clear(contextLength);
        }
        else if (_cache is null || position != _cache.Length)
        {
            throw new ArgumentException($"position {position} does not continue the sequence, which has {_cache?.Length ?? 0} positions", nameof(position));
        }
        if (position + n > _cache.ContextLength)
        {
            throw new ArgumentException($"{position} + {n} positions do not fit the context of {_cache.ContextLength}", nameof(n));
        }
        return _cache;
    }

    /// <summary>
    /// Evaluates rows of input embeddings (<c>[rows][n_embd]</c> floats, e.g. a picture's projected embeddings) in
    /// place of token embeddings at positions <paramref name="position"/>.. of the current sequence, as llama.cpp's
    /// <c>llama_decode</c> of a batch with <c>embd</c> (LLaVA's <c>llava_eval_image_embed</c>, mtmd's image chunks), and
    /// writes the last row's logits (<c>[vocabulary]</c>). The rows go into the first block as they are: Gemma's
    /// √n_embd scale is for token embeddings only (llama.cpp scales when <c>ubatch.token</c>; Ollama copies the image
    /// rows over the scaled ones). With <paramref name="bidirectional"/> the rows attend to each other both ways
    /// (Gemma 3's image tokens, which llama.cpp decodes with causal attention off) and are evaluated in one forward
    /// pass however long (llama.cpp needs the whole image in one micro-batch then); otherwise causally, in
    /// <see cref="MicroBatch"/> pieces, like tokens. The sequence continues as after
    /// <see cref="Evaluate(ReadOnlySpan{int}, int, int, float[], CancellationToken)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No rows, a length that is not whole rows, a position that does not continue the sequence, a context overflow, a short <paramref name="logits"/>.</exception>
    public void EvaluateEmbeddings(ReadOnlySpan<float> embeddings, int position, int contextLength, float[] logits, bool bidirectional = false, CancellationToken cancellationToken = default)
    {
        var n = EmbeddingRows(embeddings, logits);
        ForwardEmbeddings(SequenceCacheFor(n, position, contextLength), embeddings, logits, bidirectional, cancellationToken);
    }

    /// <summary>
    /// As <see cref="EvaluateEmbeddings"/>, continuing sequence <paramref name="sequence"/> of <paramref name="cache"/>
    /// (at <see cref="SequenceCache.Length"/>): a picture in one of the sequences <see cref="Decode"/> steps, evaluated
    /// alone between two steps. One caller at a time, as <see cref="Decode"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A cache of another model, a sequence out of range, no rows, a length that is not whole rows, a context overflow, a short <paramref name="logits"/>.</exception>
    public void DecodeEmbeddings(SequenceCache cache, int sequence, ReadOnlySpan<float> embeddings, float[] logits, bool bidirectional = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (!ReferenceEquals(cache.Model, this))
        {
            throw new ArgumentException("the sequence cache belongs to another model", nameof(cache));
        }
        cache.CheckSequence(sequence);
        EmbeddingRows(embeddings, logits);
        ForwardEmbeddings(cache.Slot(sequence), embeddings, logits, bidirectional, cancellationToken);
    }

    /// <summary>The rows in <paramref name="embeddings"/>, checked to be whole rows, and <paramref name="logits"/> to hold a row of logits.</summary>
    int EmbeddingRows(ReadOnlySpan<float> embeddings, float[] logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        var e = Hyperparameters.EmbeddingLength;
        if (embeddings.IsEmpty || embeddings.Length % e != 0)
        {
            throw new ArgumentException($"{embeddings.Length} floats are not whole rows of {e} embeddings", nameof(embeddings));
        }
        if (logits.Length < VocabularySize)
        {
            throw new ArgumentException($"{logits.Length} floats cannot hold {VocabularySize} logits", nameof(logits));
        }
        return embeddings.Length / e;
    }

    /// <summary>The forward passes of <see cref="EvaluateEmbeddings"/> and <see cref="DecodeEmbeddings"/>, continuing <paramref name="cache"/>.</summary>
    void ForwardEmbeddings(KvCache cache, ReadOnlySpan<float> embeddings, float[] logits, bool bidirectional, CancellationToken cancellationToken)
    {
        var e = Hyperparameters.EmbeddingLength;
        var n = embeddings.Length / e;
        var position = cache.Length;
        var step = bidirectional ? n : _microBatch;
        for (var done = 0; done < n; done += step)
        {
            var piece = Math.Min(step, n - done);
            Span<Run> run = [new Run(cache, 0, piece, position + done, done + piece == n ? Outputs.Last : Outputs.None, bidirectional)];
            Forward([], embeddings.Slice(done * e, piece * e), run, logits, 0, hidden: false, cancellationToken);
        }
    }

    /// <summary>
    /// Evaluates <paramref name="tokens"/> as a sequence of their own from position 0, in a KV cache apart from the one
    /// <see cref="Evaluate(ReadOnlySpan{int}, int, int, float[], CancellationToken)"/> continues (which keeps its
    /// positions), and writes every token's last hidden state after the output norm (<c>[tokens][embedding]</c>):
    /// llama.cpp's <c>result_norm</c>, what its embeddings pool. <paramref name="contextLength"/> is the context the
    /// sequence is evaluated in (it selects phi3's long rope factors as llama.cpp's <c>n_ctx</c> does).
    /// </summary>
    public void EvaluateHiddenStates(ReadOnlySpan<int> tokens, int contextLength, float[] hidden, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        var n = tokens.Length;
        var e = Hyperparameters.EmbeddingLength;
        if (n == 0)
        {
            throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, n);
        if (hidden.Length < (long)n * e)
        {
            throw new ArgumentException($"{hidden.Length} floats cannot hold {n} × {e} hidden states", nameof(hidden));
        }
        if (_hiddenCache is null || _hiddenCache.Capacity < KvCache.Pad(n))
        {
            // Only the cells this sequence fills: the context length matters to the rope factors alone.
            _hiddenCache = new KvCache(Hyperparameters, n, CacheTypes.Keys);
        }
        var cache = _hiddenCache;
        cache.Clear(contextLength);
        for (var done = 0; done < n; done += _microBatch)
        {
            var piece = Math.Min(_microBatch, n - done);
            Span<Run> run = [new Run(cache, 0, piece, done, Outputs.All)];
            Forward(tokens.Slice(done, piece), [], run, hidden, done * e, hidden: true, cancellationToken);
        }
    }

    /// <summary>
    /// A cache for up to <paramref name="sequences"/> sequences of <paramref name="contextLength"/> positions each, decoded
    /// together by <see cref="Decode"/> (see <see cref="SequenceCache"/>). It belongs to this model; the cache of
    /// <see cref="Evaluate(ReadOnlySpan{int}, int, int, float[], CancellationToken)"/> is not affected by it.
    /// </summary>
    public SequenceCache CreateSequenceCache(int sequences, int contextLength) =>
        new(this, Hyperparameters, sequences, contextLength, CacheTypes.Keys);

    /// <summary>
    /// One decoding step over several sequences at once, as llama.cpp's <c>llama_decode</c> with a batch whose tokens
    /// carry different <c>seq_id</c>s: each input's tokens continue its sequence in <paramref name="cache"/> (at
    /// <see cref="SequenceCache.Length"/>), all tokens of the step go through each weight matrix together (one matrix
    /// product per layer however many sequences), each token attends to its own sequence only. Writes, in the order of
    /// <paramref name="batch"/>, each input's last logits (or all of its tokens' when <see cref="SequenceInput.AllLogits"/>)
    /// to <paramref name="logits"/> (<c>[rows][vocabulary]</c>) and returns the number of rows. Each sequence's logits
    /// are bit for bit those of evaluating it alone. A step longer than <see cref="MicroBatch"/> tokens is evaluated in
    /// pieces. One caller at a time.
    /// </summary>
    /// <exception cref="ArgumentException">A sequence out of range or twice in the batch, no tokens, a context overflow, a short <paramref name="logits"/>.</exception>
    public int Decode(SequenceCache cache, IReadOnlyList<SequenceInput> batch, float[] logits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(logits);
        if (!ReferenceEquals(cache.Model, this))
        {
            throw new ArgumentException("the sequence cache belongs to another model", nameof(cache));
        }
        if (batch.Count == 0)
        {
            throw new ArgumentException("no sequences to decode", nameof(batch));
        }
        var total = 0;
        var rows = 0L;
        for (var i = 0; i < batch.Count; i++)
        {
            var input = batch[i];
            cache.CheckSequence(input.Sequence);
            for (var j = 0; j < i; j++)
            {
                if (batch[j].Sequence == input.Sequence)
                {
                    throw new ArgumentException($"sequence {input.Sequence} is twice in the batch", nameof(batch));
                }
            }
            if (input.Tokens.IsEmpty)
            {
                throw new ArgumentException($"no tokens for sequence {input.Sequence}", nameof(batch));
            }
            if (cache.Length(input.Sequence) + input.Tokens.Length > cache.ContextLength)
            {
                throw new ArgumentException($"{cache.Length(input.Sequence)} + {input.Tokens.Length} positions of sequence {input.Sequence} do not fit the context of {cache.ContextLength}", nameof(batch));
            }
            total += input.Tokens.Length;
            rows += input.AllLogits ? input.Tokens.Length : 1;
        }
        if (logits.Length < rows * VocabularySize)
        {
            throw new ArgumentException($"{logits.Length} floats cannot hold {rows} × {VocabularySize} logits", nameof(logits));
        }
        if (_batchTokens.Length < total)
        {
            _batchTokens = new int[total];
        }
        if (_runs.Length < batch.Count)
        {
            _runs = new Run[batch.Count];
        }
        // Pieces of at most MicroBatch tokens, filled input after input; an input may span pieces.
        var written = 0;
        var input0 = 0;
        var consumed = 0;
        while (input0 < batch.Count)
        {
            var count = 0;
            var runs = 0;
            var outputRows = 0;
            while (input0 < batch.Count && count < _microBatch)
            {
                var input = batch[input0];
                var take = Math.Min(input.Tokens.Length - consumed, _microBatch - count);
                input.Tokens.Span.Slice(consumed, take).CopyTo(_batchTokens.AsSpan(count, take));
                var ends = consumed + take == input.Tokens.Length;
                var outputs = input.AllLogits ? Outputs.All : ends ? Outputs.Last : Outputs.None;
                var slot = cache.Slot(input.Sequence);
                _runs[runs++] = new Run(slot, count, take, slot.Length, outputs);
                outputRows += outputs switch { Outputs.All => take, Outputs.Last => 1, _ => 0 };
                count += take;
                consumed += take;
                if (ends)
                {
                    input0++;
                    consumed = 0;
                }
            }
            Forward(_batchTokens.AsSpan(0, count), [], _runs.AsSpan(0, runs), logits, written * VocabularySize, hidden: false, cancellationToken);
            written += outputRows;
        }
        return written;
    }

    /// <summary>Which rows of a run a forward pass outputs.</summary>
    internal enum Outputs
    {
        None,
        Last,
        All,

        /// <summary>The rows from <see cref="Run.OutputFrom"/> on.</summary>
        From,
    }

    /// <summary>
    /// Consecutive tokens of one sequence in a forward pass: batch tokens <paramref name="Start"/>.. (<paramref name="Count"/>)
    /// at positions <paramref name="Position"/>.. of <paramref name="Cache"/>; <paramref name="Bidirectional"/>: they also
    /// see each other's later positions (<see cref="EvaluateEmbeddings"/>).
    /// </summary>
    internal readonly record struct Run(KvCache Cache, int Start, int Count, int Position, Outputs Outputs, bool Bidirectional = false)
    {
        /// <summary>With <see cref="Outputs.From"/>: the first of the run's tokens whose row is output.</summary>
        public int OutputFrom { get; init; }
    }

    /// <summary>
    /// One forward pass over <paramref name="tokens"/> (or, when there are none, the rows of input
    /// <paramref name="embeddings"/>), made of <paramref name="runs"/> (one per sequence, in order, covering the batch). The output rows — the logits, or with <paramref name="hidden"/> the hidden states after
    /// the output norm — go to <paramref name="destination"/> from <paramref name="destinationOffset"/>, in run order.
    /// </summary>
    void Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> embeddings, ReadOnlySpan<Run> runs, float[] destination, int destinationOffset, bool hidden, CancellationToken cancellationToken)
    {
        var hp = Hyperparameters;
        var fromEmbeddings = tokens.IsEmpty;
        var n = fromEmbeddings ? embeddings.Length / hp.EmbeddingLength : tokens.Length;
        foreach (var run in runs)
        {
            if (run.Position != run.Cache.Length)
            {
                throw new ArgumentException($"position {run.Position} does not continue the sequence, which has {run.Cache.Length} positions", nameof(runs));
            }
            if (run.Position + run.Count > run.Cache.ContextLength)
            {
                throw new ArgumentException($"{run.Position} + {run.Count} positions do not fit the context of {run.Cache.ContextLength}", nameof(tokens));
            }
        }
        if (_workspace is null || _workspace.Tokens < n)
        {
            // Sized for the largest batch so far and reused: evaluating again allocates nothing.
            _workspace = new Workspace(hp, n);
        }
        var ws = _workspace;
        var e = hp.EmbeddingLength;
        var x = ws.X.AsSpan(0, n * e);

        if (fromEmbeddings)
        {
            // Input rows as they are (ggml's embd input is F32): no √n_embd, which is for token embeddings.
            embeddings.CopyTo(x);
        }
        else
        {
            Embed(tokens, ws.X);
        }
        if (_options.ScaleEmbeddings && !fromEmbeddings)
        {
            var scale = MathF.Sqrt(e);
            for (var i = 0; i < x.Length; i++)
            {
                x[i] *= scale;
            }
        }
        (float Base, float Scale)? angles = null;
        for (var l = 0; l < _layers.Length; l++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var layer = _layers[l];
            if (angles != (layer.RopeFreqBase, layer.RopeFreqScale))
            {
                angles = (layer.RopeFreqBase, layer.RopeFreqScale);
                foreach (var run in runs)
                {
                    // llama.cpp picks phi3's LongRoPE factors by its (padded) context size.
                    var ropeFactors = _options.RopeFactorsFor(KvCache.Pad(run.Cache.ContextLength));
                    for (var t = 0; t < run.Count; t++)
                    {
                        Rope.Angles(run.Position + t, hp.RopeDimensions, layer.RopeFreqBase, layer.RopeFreqScale, ropeFactors, _options.RopeAttentionFactor, ws.CosSin.AsSpan((run.Start + t) * hp.RopeDimensions, hp.RopeDimensions));
                    }
                }
            }
            Normalize(ws.X, layer.AttentionNorm, ws.Cur, n);
            Attend(layer, l, runs, n, ws);
            if (layer.AttentionPostNorm is { } attentionPostNorm)
            {
                Normalize(ws.Cur, attentionPostNorm, ws.Cur, n);
            }
            Add(x, ws.Cur.AsSpan(0, n * e));
            Normalize(ws.X, layer.FeedForwardNorm, ws.Cur, n);
            FeedForward(layer, n, ws);
            if (layer.FeedForwardPostNorm is { } feedForwardPostNorm)
            {
                Normalize(ws.Cur, feedForwardPostNorm, ws.Cur, n);
            }
            Add(x, ws.Cur.AsSpan(0, n * e));
        }
        // The output rows, normalised: straight to the destination for hidden states, else gathered into ws.Cur for
        // one product with the output matrix.
        var computed = 0;
        foreach (var run in runs)
        {
            var (first, count) = run.Outputs switch
            {
                Outputs.All => (run.Start, run.Count),
                Outputs.Last => (run.Start + run.Count - 1, 1),
                Outputs.From => (run.Start + run.OutputFrom, run.Count - run.OutputFrom),
                _ => (0, 0),
            };
            for (var t = first; t < first + count; t++)
            {
                var target = hidden ? destination.AsSpan(destinationOffset + (computed * e), e) : ws.Cur.AsSpan(computed * e, e);
                RmsNorm.Apply(x.Slice(t * e, e), _outputNorm, hp.RmsEpsilon, target);
                computed++;
            }
        }
        if (!hidden && computed > 0)
        {
            _matMul.Multiply(_output, ws.Cur.AsSpan(0, computed * e), computed, destination, destinationOffset, VocabularySize);
            if (_options.FinalSoftcap != 0f)
            {
                var cap = _options.FinalSoftcap;
                var all = destination.AsSpan(destinationOffset, computed * VocabularySize);
                for (var i = 0; i < all.Length; i++)
                {
                    all[i] = MathF.Tanh(all[i] * (1f / cap)) * cap;
                }
            }
        }
        foreach (var run in runs)
        {
            run.Cache.Length = run.Position + run.Count;
        }
    }

    /// <summary>The attention half of a block: <c>ws.Cur</c> (normalised input) in, the projected attention output out.</summary>
    void Attend(TransformerLayer layer, int l, ReadOnlySpan<Run> runs, int n, Workspace ws)
    {
        var hp = Hyperparameters;
        var qWidth = hp.HeadCount * hp.KeyLength;
        var kWidth = hp.KvHeadCount * hp.KeyLength;
        var vWidth = hp.KvHeadCount * hp.ValueLength;
        var oWidth = hp.HeadCount * hp.ValueLength;
        var cur = ws.Cur.AsSpan(0, n * hp.EmbeddingLength);
        if (layer.QueryKeyValue is { } fused)
        {
            // phi3: one matrix, each token's rows Q | K | V (ggml views of the same output).
            _matMul.Multiply(fused, cur, n, ws.Qkv);
            var stride = qWidth + kWidth + vWidth;
            for (var t = 0; t < n; t++)
            {
                var row = ws.Qkv.AsSpan(t * stride, stride);
                row[..qWidth].CopyTo(ws.Q.AsSpan(t * qWidth, qWidth));
                row.Slice(qWidth, kWidth).CopyTo(ws.K.AsSpan(t * kWidth, kWidth));
                row.Slice(qWidth + kWidth, vWidth).CopyTo(ws.V.AsSpan(t * vWidth, vWidth));
            }
        }
        else
        {
            _matMul.Multiply(layer.Query!, cur, n, ws.Q);
            _matMul.Multiply(layer.Key!, cur, n, ws.K);
            _matMul.Multiply(layer.Value!, cur, n, ws.V);
        }
        AddBias(ws.Q, layer.QueryBias, n);
        AddBias(ws.K, layer.KeyBias, n);
        AddBias(ws.V, layer.ValueBias, n);

        var window = layer.SlidingWindow ? _options.SlidingWindow : 0;
        foreach (var run in runs)
        {
            var cache = run.Cache;
            var keyCache = cache.Keys[l];
            var valueCache = cache.Values[l];
            var kvCapacity = cache.Capacity;
            var keyRow = cache.KeyRowBytes;
            for (var i = 0; i < run.Count; i++)
            {
                var t = run.Start + i;
                var position = run.Position + i;
                var angles = ws.CosSin.AsSpan(t * hp.RopeDimensions, hp.RopeDimensions);
                for (var h = 0; h < hp.HeadCount; h++)
                {
                    var head = ws.Q.AsSpan((t * hp.HeadCount + h) * hp.KeyLength, hp.KeyLength);
                    if (layer.QueryNorm is { } queryNorm)
                    {
                        RmsNorm.Apply(head, queryNorm, hp.RmsEpsilon, head);
                    }
                    Rope.Apply(head, angles, hp.RopeDimensions, _options.NeoxRope);
                    if (_options.QueryScale != 1f)
                    {
                        for (var j = 0; j < head.Length; j++)
                        {
                            head[j] *= _options.QueryScale;
                        }
                    }
                }
                for (var h = 0; h < hp.KvHeadCount; h++)
                {
                    var head = ws.K.AsSpan((t * hp.KvHeadCount + h) * hp.KeyLength, hp.KeyLength);
                    if (layer.KeyNorm is { } keyNorm)
                    {
                        RmsNorm.Apply(head, keyNorm, hp.RmsEpsilon, head);
                    }
                    Rope.Apply(head, angles, hp.RopeDimensions, _options.NeoxRope);
                    // ggml_cpy into the cache: the key type's from_float (F16 rounding or Q8_0 blocks).
                    cache.KeyDot.QuantizeActivations(head, keyCache.AsSpan((h * kvCapacity + position) * keyRow, keyRow), _width);
                    for (var d = 0; d < hp.ValueLength; d++)
                    {
                        valueCache[(h * hp.ValueLength + d) * kvCapacity + position] = Fp16.FromFloat(ws.V[(t * hp.KvHeadCount + h) * hp.ValueLength + d]);
                    }
                }
            }
            // Each sequence attends over its own cells, as if it were alone (its own KV view, padded as ggml pads it):
            // its logits are then those of a single-sequence run, bit for bit.
            var whole = run.Start == 0 && run.Count == n;
            var query = whole ? ws.Q : ws.RunQuery;
            var output = whole ? ws.AttentionOutput : ws.RunAttentionOutput;
            if (!whole)
            {
                ws.Q.AsSpan(run.Start * qWidth, run.Count * qWidth).CopyTo(ws.RunQuery);
            }
            _attention.Run(
                query, cache.KeyDot, keyCache, keyRow, valueCache, kvCapacity, run.Count, run.Position, KvCache.Pad(run.Position + run.Count),
                hp.HeadCount, hp.KvHeadCount, hp.KeyLength, hp.ValueLength, window, _options.KqScale, _options.AttentionSoftcap,
                output, run.Bidirectional);
            if (!whole)
            {
                ws.RunAttentionOutput.AsSpan(0, run.Count * oWidth).CopyTo(ws.AttentionOutput.AsSpan(run.Start * oWidth));
            }
        }
        _matMul.Multiply(layer.AttentionOutput, ws.AttentionOutput.AsSpan(0, n * oWidth), n, ws.Cur);
        AddBias(ws.Cur, layer.AttentionOutputBias, n);
    }

    /// <summary>The feed-forward half of a block: <c>ws.Cur</c> (normalised) in, the output in <c>ws.Cur</c>.</summary>
    void FeedForward(TransformerLayer layer, int n, Workspace ws)
    {
        var hp = Hyperparameters;
        var e = hp.EmbeddingLength;
        var ff = hp.FeedForwardLength;
        var cur = ws.Cur.AsSpan(0, n * e);
        if (layer.Experts is { } experts)
        {
            // Forward reads all its input before it writes any output, so both can be ws.Cur.
            experts.Forward(_matMul, ws.Cur, n, e, ws.Cur, ws.Experts, _width);
            return;
        }
        var gate = ws.Gate.AsSpan(0, n * ff);
        if (layer.Gate is { } gateWeights)
        {
            _matMul.Multiply(gateWeights, cur, n, ws.Gate);
            _matMul.Multiply(layer.Up!, cur, n, ws.Up);
            var gelu = _options.Gelu;
            var gateRows = ws.Gate;
            var upRows = ws.Up;
            // Element by element, so each thread takes whole groups of tokens (an exponential per element: ~n·ff of
            // them, which one thread alone made a noticeable serial step between the matrix products).
            var groups = (n + ActivationTokens - 1) / ActivationTokens;
            _tokenGroups.For(groups, g =>
            {
                var start = g * ActivationTokens * ff;
                var length = (Math.Min(n, (g + 1) * ActivationTokens) - (g * ActivationTokens)) * ff;
                if (gelu)
                {
                    Activations.GeluTimes(gateRows.AsSpan(start, length), upRows.AsSpan(start, length));
                }
                else
                {
                    Activations.SiluTimes(gateRows.AsSpan(start, length), upRows.AsSpan(start, length));
                }
            });
        }
        else
        {
            // phi3's fused ffn_up: each token's 2·ff outputs are gate | up (LLM_FFN_SWIGLU).
            _matMul.Multiply(layer.Up!, cur, n, ws.Up);
            for (var t = 0; t < n; t++)
            {
                var row = ws.Up.AsSpan(t * 2 * ff, 2 * ff);
                var g = gate.Slice(t * ff, ff);
                row[..ff].CopyTo(g);
                Activations.SiluTimes(g, row[ff..]);
            }
        }
        _matMul.Multiply(layer.Down!, gate, n, ws.Cur);
    }

    /// <summary>The number of positions of the current sequence held in the cache.</summary>
    public int SequenceLength => _cache?.Length ?? 0;

    /// <summary>
    /// Forgets the cached positions from <paramref name="length"/> on, so that the sequence continues there: llama.cpp's
    /// <c>llama_kv_cache_seq_rm(ctx, seq, length, -1)</c>, which a chat uses to reuse the prompt it shares with the
    /// previous turn. The forgotten cells are zeroed, as a new cache starts.
    /// </summary>
    public void TruncateSequence(int length)
    {
        if (_cache is null)
        {
            // Nothing evaluated yet: only the empty sequence exists.
            ArgumentOutOfRangeException.ThrowIfNotEqual(length, 0);
            return;
        }
        _cache.Truncate(length, Hyperparameters);
    }

    void Embed(ReadOnlySpan<int> tokens, float[] x)
    {
        var e = Hyperparameters.EmbeddingLength;
        var rowBytes = (int)GgmlTypeInfo.Of(_tokenEmbedding.Type).RowBytes(e);
        for (var t = 0; t < tokens.Length; t++)
        {
            var id = tokens[t];
            if ((uint)id >= (uint)VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), $"token {id} at position {t} is outside the vocabulary (0..{VocabularySize - 1})");
            }
            var row = _tokenEmbedding.Slice((long)id * rowBytes, rowBytes);
            var destination = x.AsSpan(t * e, e);
            switch (_tokenEmbedding.Type)
            {
                case GgmlType.F32:
                    MemoryMarshal.Cast<byte, float>(row).CopyTo(destination);
                    break;
                default:
                    BlockCodecs.Get(_tokenEmbedding.Type).Decode(row, destination);
                    break;
            }
        }
    }

    void Normalize(float[] x, float[] weight, float[] y, int tokens)
    {
        var e = Hyperparameters.EmbeddingLength;
        for (var t = 0; t < tokens; t++)
        {
            RmsNorm.Apply(x.AsSpan(t * e, e), weight, Hyperparameters.RmsEpsilon, y.AsSpan(t * e, e));
        }
    }

    /// <summary><c>ggml_add</c> of a bias broadcast over the tokens.</summary>
    static void AddBias(float[] x, float[]? bias, int tokens)
    {
        if (bias is null)
        {
            return;
        }
        for (var t = 0; t < tokens; t++)
        {
            var row = x.AsSpan(t * bias.Length, bias.Length);
            for (var i = 0; i < row.Length; i++)
            {
                row[i] += bias[i];
            }
        }
    }

    static void Add(Span<float> x, ReadOnlySpan<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = y[i] + x[i];
        }
    }

    /// <summary>The forward pass's threads, for work between passes (the evaluation's per-row statistics); one caller at a time.</summary>
    internal WorkerPool Pool => _pool;

    public void Dispose() => _pool.Dispose();
}
