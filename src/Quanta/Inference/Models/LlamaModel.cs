using System.Runtime.InteropServices;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Models;

/// <summary>
/// The forward pass of llama-family models as llama.cpp builds it (<c>build_llama</c>, <c>build_gemma</c>): llama
/// (and mistral, which llama.cpp's converter writes as <c>llama</c>) and gemma. Weights are read in place from the
/// mapped GGUF; activations go through ggml-cpu's conversions (<see cref="IVecDot"/>), keys and values are stored
/// in an F16 cache as llama.cpp's default cache type does, and a prompt is evaluated in one batch with the
/// logits of every position. The cache keeps every layer's keys and values, so a sequence can go on one token
/// at a time after its prompt (<see cref="Evaluate(ReadOnlySpan{int}, int, int, float[], CancellationToken)"/>).
/// </summary>
public sealed class LlamaModel : IDisposable
{
    /// <summary>The architectures this forward pass runs.</summary>
    public static IReadOnlyList<string> SupportedArchitectures { get; } = ["llama", "gemma"];

    readonly Layer[] _layers;
    readonly GgufTensor _tokenEmbedding;
    readonly float[] _outputNorm;
    readonly LinearWeights _output;
    readonly WorkerPool _pool;
    readonly MatMul _matMul;
    readonly AttentionHeads _attention;
    readonly KernelWidth _width;
    readonly bool _gemma;
    Workspace? _workspace;
    int _microBatch = 512;
    KvCache? _cache;

    LlamaModel(GgufFile file, TransformerHyperparameters hp, int threads, KernelWidth width)
    {
        Hyperparameters = hp;
        _gemma = hp.Architecture == "gemma";
        _width = width;
        var e = hp.EmbeddingLength;
        _tokenEmbedding = Require(file, "token_embd.weight", e, -1);
        VocabularySize = checked((int)_tokenEmbedding.Shape[1]);
        _outputNorm = ReadVector(Require(file, "output_norm.weight", e));
        // Gemma (and llama files without output.weight) reuse the token embeddings as the output matrix.
        _output = new LinearWeights(file.FindTensor("output.weight") is { } output ? CheckShape(output, e, VocabularySize) : _tokenEmbedding);
        _layers = new Layer[hp.BlockCount];
        var q = hp.HeadCount * hp.KeyLength;
        var k = hp.KvHeadCount * hp.KeyLength;
        var v = hp.KvHeadCount * hp.ValueLength;
        for (var i = 0; i < hp.BlockCount; i++)
        {
            string Name(string part) => $"blk.{i}.{part}.weight";
            _layers[i] = new Layer(
                ReadVector(Require(file, Name("attn_norm"), e)),
                new LinearWeights(Require(file, Name("attn_q"), e, q)),
                new LinearWeights(Require(file, Name("attn_k"), e, k)),
                new LinearWeights(Require(file, Name("attn_v"), e, v)),
                new LinearWeights(Require(file, Name("attn_output"), hp.HeadCount * hp.ValueLength, e)),
                ReadVector(Require(file, Name("ffn_norm"), e)),
                new LinearWeights(Require(file, Name("ffn_gate"), e, hp.FeedForwardLength)),
                new LinearWeights(Require(file, Name("ffn_up"), e, hp.FeedForwardLength)),
                new LinearWeights(Require(file, Name("ffn_down"), hp.FeedForwardLength, e)));
        }
        _pool = new WorkerPool(threads);
        _matMul = new MatMul(_pool, width);
        _attention = new AttentionHeads(_pool, width);
    }

    public TransformerHyperparameters Hyperparameters { get; }

    public int VocabularySize { get; }

    /// <summary>
    /// Builds the forward pass over an open file (which must stay open while the model is used). Unsupported
    /// architectures, missing tensors and unexpected shapes are <see cref="GgufFormatException"/>s naming them.
    /// </summary>
    public static LlamaModel Load(GgufFile file, int threads, KernelWidth? width = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var architecture = file.Metadata.GetStringOrNull(GgufKeys.Architecture) ?? throw new GgufFormatException($"the model has no {GgufKeys.Architecture} key");
        if (!SupportedArchitectures.Contains(architecture))
        {
            throw new GgufFormatException($"architecture '{architecture}' cannot be run yet (supported: {string.Join(", ", SupportedArchitectures)})");
        }
        return new LlamaModel(file, TransformerHyperparameters.FromMetadata(file.Metadata), threads, width ?? KernelWidths.Current);
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
            if (_cache is null || _cache.Capacity < Workspace.Pad(contextLength))
            {
                _cache = new KvCache(hp, contextLength);
            }
            // llama.cpp's cache starts zeroed; masked cells then contribute exact zeros.
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
        var e = hp.EmbeddingLength;
        var kvLength = Workspace.Pad(position + n);
        if (_workspace is null || _workspace.Tokens < n)
        {
            // Sized for the largest batch so far and reused: evaluating again allocates nothing.
            _workspace = new Workspace(hp, n);
        }
        var ws = _workspace;
        var kvCapacity = cache.Capacity;
        var x = ws.X.AsSpan(0, n * e);
        var cur = ws.Cur;
        var q = ws.Q;
        var k = ws.K;
        var v = ws.V;
        var attention = ws.AttentionOutput;
        var gate = ws.Gate.AsSpan(0, n * hp.FeedForwardLength);
        var up = ws.Up.AsSpan(0, n * hp.FeedForwardLength);
        var cosSin = ws.CosSin;

        Embed(tokens, ws.X);
        if (_gemma)
        {
            var scale = MathF.Sqrt(e);
            for (var i = 0; i < x.Length; i++)
            {
                x[i] *= scale;
            }
        }
        for (var t = 0; t < n; t++)
        {
            Rope.Angles(position + t, hp.RopeDimensions, hp.RopeFreqBase, 1f, cosSin.AsSpan(t * hp.RopeDimensions, hp.RopeDimensions));
        }
        // llama.cpp scales the scores in the softmax; gemma scales the query after rope and the softmax by 1.
        var kqScale = _gemma ? 1f : 1f / MathF.Sqrt(hp.KeyLength);
        var queryScale = 1f / MathF.Sqrt(hp.KeyLength);

        for (var l = 0; l < _layers.Length; l++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var layer = _layers[l];
            var keyCache = cache.Keys[l];
            var valueCache = cache.Values[l];
            Normalize(ws.X, layer.AttentionNorm, cur, n);
            _matMul.Multiply(layer.Query, cur, n, q);
            _matMul.Multiply(layer.Key, cur, n, k);
            _matMul.Multiply(layer.Value, cur, n, v);
            for (var t = 0; t < n; t++)
            {
                var angles = cosSin.AsSpan(t * hp.RopeDimensions, hp.RopeDimensions);
                for (var h = 0; h < hp.HeadCount; h++)
                {
                    var head = q.AsSpan((t * hp.HeadCount + h) * hp.KeyLength, hp.KeyLength);
                    Rope.Apply(head, angles, hp.RopeDimensions, neox: _gemma);
                    if (_gemma)
                    {
                        for (var i = 0; i < head.Length; i++)
                        {
                            head[i] *= queryScale;
                        }
                    }
                }
                for (var h = 0; h < hp.KvHeadCount; h++)
                {
                    var head = k.AsSpan((t * hp.KvHeadCount + h) * hp.KeyLength, hp.KeyLength);
                    Rope.Apply(head, angles, hp.RopeDimensions, neox: _gemma);
                    Fp16.FromFloat(head, keyCache.AsSpan((h * kvCapacity + position + t) * hp.KeyLength, hp.KeyLength));
                    for (var d = 0; d < hp.ValueLength; d++)
                    {
                        valueCache[(h * hp.ValueLength + d) * kvCapacity + position + t] = Fp16.FromFloat(v[(t * hp.KvHeadCount + h) * hp.ValueLength + d]);
                    }
                }
            }
            _attention.Run(q, keyCache, valueCache, kvCapacity, n, position, kvLength, hp.HeadCount, hp.KvHeadCount, hp.KeyLength, hp.ValueLength, kqScale, attention);
            _matMul.Multiply(layer.AttentionOutput, attention, n, cur);
            Add(x, cur);
            Normalize(ws.X, layer.FeedForwardNorm, cur, n);
            _matMul.Multiply(layer.Gate, cur, n, ws.Gate);
            _matMul.Multiply(layer.Up, cur, n, ws.Up);
            if (_gemma)
            {
                Activations.GeluTimes(gate, up);
            }
            else
            {
                Activations.SiluTimes(gate, up);
            }
            _matMul.Multiply(layer.Down, gate, n, cur);
            Add(x, cur);
        }
        if (outputs == Outputs.Last)
        {
            RmsNorm.Apply(x.Slice((n - 1) * e, e), _outputNorm, hp.RmsEpsilon, cur.AsSpan(0, e));
            _matMul.Multiply(_output, cur, 1, logits);
        }
        else if (outputs == Outputs.All)
        {
            Normalize(ws.X, _outputNorm, cur, n);
            _matMul.Multiply(_output, cur, n, logits, logitsOffset, VocabularySize);
        }
        cache.Length = position + n;
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

    static void Add(Span<float> x, ReadOnlySpan<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = y[i] + x[i];
        }
    }

    static GgufTensor Require(GgufFile file, string name, params long[] shape) =>
        CheckShape(file.FindTensor(name) ?? throw new GgufFormatException($"{file.Path}: tensor '{name}' is missing"), shape);

    static GgufTensor CheckShape(GgufTensor tensor, params long[] shape)
    {
        var ok = tensor.Shape.Count == shape.Length;
        for (var i = 0; ok && i < shape.Length; i++)
        {
            ok = shape[i] < 0 || tensor.Shape[i] == shape[i];
        }
        if (!ok)
        {
            throw new GgufFormatException($"tensor '{tensor.Name}' has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", shape.Select(s => s < 0 ? "*" : s.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]");
        }
        return tensor;
    }

    static float[] ReadVector(GgufTensor tensor)
    {
        var values = new float[tensor.Info.ElementCount];
        if (tensor.Type == GgmlType.F32)
        {
            MemoryMarshal.Cast<byte, float>(tensor.Data).CopyTo(values);
        }
        else
        {
            BlockCodecs.Get(tensor.Type).Decode(tensor.Data, values);
        }
        return values;
    }

    public void Dispose() => _pool.Dispose();

    /// <summary>Every buffer of a forward pass, for batches of up to <see cref="Tokens"/> tokens.</summary>
    sealed class Workspace(TransformerHyperparameters hp, int tokens)
    {
        public int Tokens { get; } = tokens;

        public float[] X { get; } = new float[tokens * hp.EmbeddingLength];

        public float[] Cur { get; } = new float[tokens * hp.EmbeddingLength];

        public float[] Q { get; } = new float[tokens * hp.HeadCount * hp.KeyLength];

        public float[] K { get; } = new float[tokens * hp.KvHeadCount * hp.KeyLength];

        public float[] V { get; } = new float[tokens * hp.KvHeadCount * hp.ValueLength];

        public float[] AttentionOutput { get; } = new float[tokens * hp.HeadCount * hp.ValueLength];

        public float[] Gate { get; } = new float[tokens * hp.FeedForwardLength];

        public float[] Up { get; } = new float[tokens * hp.FeedForwardLength];

        public float[] CosSin { get; } = new float[tokens * hp.RopeDimensions];

        public static int Pad(int n) => (n + Kernels.Attention.KvPadding - 1) / Kernels.Attention.KvPadding * Kernels.Attention.KvPadding;
    }

    /// <summary>
    /// The F16 keys (<c>[kv head][cell][dim]</c>) and transposed values (<c>[kv head][dim][cell]</c>, llama.cpp's
    /// V layout) of every layer, for up to <see cref="ContextLength"/> positions, and the attention scratch sized
    /// for them. <see cref="Length"/> positions are filled.
    /// </summary>
    sealed class KvCache
    {
        public KvCache(TransformerHyperparameters hp, int contextLength)
        {
            Capacity = Workspace.Pad(contextLength);
            Keys = new ushort[hp.BlockCount][];
            Values = new ushort[hp.BlockCount][];
            for (var l = 0; l < hp.BlockCount; l++)
            {
                Keys[l] = new ushort[hp.KvHeadCount * Capacity * hp.KeyLength];
                Values[l] = new ushort[hp.KvHeadCount * hp.ValueLength * Capacity];
            }
            Scores = new float[Capacity];
            Scratch16 = new ushort[Math.Max(hp.KeyLength, hp.ValueLength) + Capacity];
        }

        public int Capacity { get; }

        public int ContextLength { get; private set; }

        public int Length { get; set; }

        public ushort[][] Keys { get; }

        public ushort[][] Values { get; }

        public float[] Scores { get; }

        public ushort[] Scratch16 { get; }

        /// <summary>Empties the cache for a new sequence of up to <paramref name="contextLength"/> positions.</summary>
        public void Clear(int contextLength)
        {
            ContextLength = contextLength;
            Length = 0;
            foreach (var cells in Keys)
            {
                Array.Clear(cells);
            }
            foreach (var cells in Values)
            {
                Array.Clear(cells);
            }
        }
    }

    sealed record Layer(
        float[] AttentionNorm, LinearWeights Query, LinearWeights Key, LinearWeights Value, LinearWeights AttentionOutput,
        float[] FeedForwardNorm, LinearWeights Gate, LinearWeights Up, LinearWeights Down);
}
