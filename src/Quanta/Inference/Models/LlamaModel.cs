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
    readonly KernelWidth _width;
    Workspace? _workspace;
    int _microBatch = 512;
    KvCache? _cache;

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
    }

    public TransformerHyperparameters Hyperparameters { get; }

    public int VocabularySize { get; }

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
        EvaluateInMicroBatches(tokens, position, contextLength, logits, lastOnly: false, cancellationToken);

    /// <summary>
    /// As <see cref="Evaluate(ReadOnlySpan{int}, int, int, float[], CancellationToken)"/>, but only the last token's
    /// logits are computed (<c>[vocabulary]</c>), as llama.cpp does for a batch that asks for no other outputs.
    /// </summary>
    public void EvaluateLast(ReadOnlySpan<int> tokens, int position, int contextLength, float[] logits, CancellationToken cancellationToken = default) =>
        EvaluateInMicroBatches(tokens, position, contextLength, logits, lastOnly: true, cancellationToken);

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

    void EvaluateInMicroBatches(ReadOnlySpan<int> tokens, int position, int contextLength, float[] logits, bool lastOnly, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(logits);
        var n = tokens.Length;
        if (n == 0)
        {
            throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        }
        if (logits.Length < (lastOnly ? 1 : (long)n) * VocabularySize)
        {
            throw new ArgumentException($"{logits.Length} floats cannot hold {(lastOnly ? 1 : n)} × {VocabularySize} logits", nameof(logits));
        }
        if (position == 0)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, n);
        }
        for (var done = 0; done < n; done += _microBatch)
        {
            var piece = Math.Min(_microBatch, n - done);
            var outputs = !lastOnly ? Outputs.All : done + piece == n ? Outputs.Last : Outputs.None;
            Forward(tokens.Slice(done, piece), position + done, contextLength, logits, lastOnly ? 0 : done * VocabularySize, outputs, cancellationToken);
        }
    }

    /// <summary>Which logits a forward pass computes.</summary>
    enum Outputs
    {
        None,
        Last,
        All,
    }

    void Forward(ReadOnlySpan<int> tokens, int position, int contextLength, float[] logits, int logitsOffset, Outputs outputs, CancellationToken cancellationToken)
    {
        var hp = Hyperparameters;
        var n = tokens.Length;
        if (position == 0)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, n);
            if (_cache is null || _cache.Capacity < KvCache.Pad(contextLength))
            {
                _cache = new KvCache(hp, contextLength, CacheTypes.Keys);
            }
            _cache.Clear(contextLength);
        }
        else if (_cache is null || position != _cache.Length)
        {
            throw new ArgumentException($"position {position} does not continue the sequence, which has {_cache?.Length ?? 0} positions", nameof(position));
        }
        var cache = _cache;
        if (position + n > cache.ContextLength)
        {
            throw new ArgumentException($"{position} + {n} positions do not fit the context of {cache.ContextLength}", nameof(tokens));
        }
        if (_workspace is null || _workspace.Tokens < n)
        {
            // Sized for the largest batch so far and reused: evaluating again allocates nothing.
            _workspace = new Workspace(hp, n);
        }
        var ws = _workspace;
        var e = hp.EmbeddingLength;
        var x = ws.X.AsSpan(0, n * e);

        Embed(tokens, ws.X);
        if (_options.ScaleEmbeddings)
        {
            var scale = MathF.Sqrt(e);
            for (var i = 0; i < x.Length; i++)
            {
                x[i] *= scale;
            }
        }
        // llama.cpp picks phi3's LongRoPE factors by its (padded) context size.
        var ropeFactors = _options.RopeFactorsFor(KvCache.Pad(cache.ContextLength));
        (float Base, float Scale)? angles = null;
        for (var l = 0; l < _layers.Length; l++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var layer = _layers[l];
            if (angles != (layer.RopeFreqBase, layer.RopeFreqScale))
            {
                angles = (layer.RopeFreqBase, layer.RopeFreqScale);
                for (var t = 0; t < n; t++)
                {
                    Rope.Angles(position + t, hp.RopeDimensions, layer.RopeFreqBase, layer.RopeFreqScale, ropeFactors, _options.RopeAttentionFactor, ws.CosSin.AsSpan(t * hp.RopeDimensions, hp.RopeDimensions));
                }
            }
            Normalize(ws.X, layer.AttentionNorm, ws.Cur, n);
            Attend(layer, l, position, n, cache, ws);
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
        var computed = 0;
        if (outputs == Outputs.Last)
        {
            RmsNorm.Apply(x.Slice((n - 1) * e, e), _outputNorm, hp.RmsEpsilon, ws.Cur.AsSpan(0, e));
            _matMul.Multiply(_output, ws.Cur.AsSpan(0, e), 1, logits);
            computed = 1;
        }
        else if (outputs == Outputs.All)
        {
            Normalize(ws.X, _outputNorm, ws.Cur, n);
            _matMul.Multiply(_output, ws.Cur.AsSpan(0, n * e), n, logits, logitsOffset, VocabularySize);
            computed = n;
        }
        if (_options.FinalSoftcap != 0f && computed > 0)
        {
            var cap = _options.FinalSoftcap;
            var all = logits.AsSpan(outputs == Outputs.Last ? 0 : logitsOffset, computed * VocabularySize);
            for (var i = 0; i < all.Length; i++)
            {
                all[i] = MathF.Tanh(all[i] * (1f / cap)) * cap;
            }
        }
        cache.Length = position + n;
    }

    /// <summary>The attention half of a block: <c>ws.Cur</c> (normalised input) in, the projected attention output out.</summary>
    void Attend(TransformerLayer layer, int l, int position, int n, KvCache cache, Workspace ws)
    {
        var hp = Hyperparameters;
        var qWidth = hp.HeadCount * hp.KeyLength;
        var kWidth = hp.KvHeadCount * hp.KeyLength;
        var vWidth = hp.KvHeadCount * hp.ValueLength;
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

        var keyCache = cache.Keys[l];
        var valueCache = cache.Values[l];
        var kvCapacity = cache.Capacity;
        var keyRow = cache.KeyRowBytes;
        for (var t = 0; t < n; t++)
        {
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
                    for (var i = 0; i < head.Length; i++)
                    {
                        head[i] *= _options.QueryScale;
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
                cache.KeyDot.QuantizeActivations(head, keyCache.AsSpan((h * kvCapacity + position + t) * keyRow, keyRow), _width);
                for (var d = 0; d < hp.ValueLength; d++)
                {
                    valueCache[(h * hp.ValueLength + d) * kvCapacity + position + t] = Fp16.FromFloat(ws.V[(t * hp.KvHeadCount + h) * hp.ValueLength + d]);
                }
            }
        }
        var window = layer.SlidingWindow ? _options.SlidingWindow : 0;
        _attention.Run(
            ws.Q, cache.KeyDot, keyCache, keyRow, valueCache, kvCapacity, n, position, KvCache.Pad(position + n),
            hp.HeadCount, hp.KvHeadCount, hp.KeyLength, hp.ValueLength, window, _options.KqScale, _options.AttentionSoftcap,
            ws.AttentionOutput);
        _matMul.Multiply(layer.AttentionOutput, ws.AttentionOutput.AsSpan(0, n * hp.HeadCount * hp.ValueLength), n, ws.Cur);
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
            var up = ws.Up.AsSpan(0, n * ff);
            if (_options.Gelu)
            {
                Activations.GeluTimes(gate, up);
            }
            else
            {
                Activations.SiluTimes(gate, up);
            }
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

    public void Dispose() => _pool.Dispose();
}
