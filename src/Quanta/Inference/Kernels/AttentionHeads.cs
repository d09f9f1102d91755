namespace Quanta.Inference.Kernels;

/// <summary>
/// <see cref="Attention.Head"/> for every (token, query head) of a batch, handed out to the threads of a
/// <see cref="WorkerPool"/> one pair at a time, as ggml-cpu splits its attention products across threads. Each
/// pair is computed exactly as on one thread; each thread has its own scratch (the query converted for the key
/// type, scores, probabilities), grown with the cache and reused.
/// </summary>
public sealed class AttentionHeads : IParallelWork
{
    readonly WorkerPool _pool;
    readonly KernelWidth _width;
    readonly byte[][] _queries;
    readonly float[][] _scores;
    readonly ushort[][] _probabilities;
    float[] _query = [];
    IVecDot? _keyDot;
    byte[] _keys = [];
    ushort[] _values = [];
    float[] _output = [];
    int _keyRowBytes;
    int _kvCapacity;
    int _position;
    int _kvLength;
    int _heads;
    int _group;
    int _keyLength;
    int _valueLength;
    int _window;
    int _visibleEnd;
    float _scale;
    float _softcap;
    int _items;
    int _next;

    public AttentionHeads(WorkerPool pool, KernelWidth width)
    {
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _width = width;
        _queries = new byte[pool.ThreadCount][];
        _scores = new float[pool.ThreadCount][];
        _probabilities = new ushort[pool.ThreadCount][];
        for (var i = 0; i < pool.ThreadCount; i++)
        {
            _queries[i] = [];
            _scores[i] = [];
            _probabilities[i] = [];
        }
    }

    /// <summary>
    /// Attention of <paramref name="tokens"/> queries (<c>[token][head][keyLength]</c> floats in <paramref name="query"/>)
    /// at positions <paramref name="position"/>.. over one layer's cache (<c>keys[kvHead][cell]</c> rows of
    /// <paramref name="keyRowBytes"/> in <paramref name="keyDot"/>'s type, <c>values[kvHead][dim][cell]</c>,
    /// <paramref name="kvCapacity"/> cells per head), each token seeing the cells up to its own and, with a sliding
    /// <paramref name="window"/> (0: none), only the last <paramref name="window"/> of them; query head h reads KV
    /// head h / (heads / kvHeads). Results to <paramref name="output"/> as <c>[token][head][valueLength]</c>.
    /// </summary>
    public void Run(
        float[] query, IVecDot keyDot, byte[] keys, int keyRowBytes, ushort[] values, int kvCapacity, int tokens, int position, int kvLength,
        int heads, int kvHeads, int keyLength, int valueLength, int window, float scale, float softcap, float[] output) =>
        Run(query, keyDot, keys, keyRowBytes, values, kvCapacity, tokens, position, kvLength, heads, kvHeads, keyLength, valueLength, window, scale, softcap, output, bidirectional: false);

    /// <summary>
    /// As the causal overload; with <paramref name="bidirectional"/>, every token of the batch also sees the cells of
    /// the batch after its own (up to <paramref name="position"/> + <paramref name="tokens"/>), as llama.cpp 2026 decodes
    /// a Gemma 3 image with <c>llama_set_causal_attn(false)</c>: the mask then keeps only the sliding window.
    /// </summary>
    public void Run(
        float[] query, IVecDot keyDot, byte[] keys, int keyRowBytes, ushort[] values, int kvCapacity, int tokens, int position, int kvLength,
        int heads, int kvHeads, int keyLength, int valueLength, int window, float scale, float softcap, float[] output, bool bidirectional)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(keyDot);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(kvLength, kvCapacity);
        var queryBytes = keyDot.ActivationRowBytes(keyLength);
        for (var i = 0; i < _pool.ThreadCount; i++)
        {
            if (_queries[i].Length != queryBytes)
            {
                _queries[i] = new byte[queryBytes];
            }
            if (_scores[i].Length < kvLength)
            {
                // Grows with the longest context so far; later calls reuse it.
                _scores[i] = new float[kvCapacity];
                _probabilities[i] = new ushort[kvCapacity];
            }
        }
        (_query, _keyDot, _keys, _values, _output) = (query, keyDot, keys, values, output);
        (_keyRowBytes, _kvCapacity, _position, _kvLength, _heads, _group) = (keyRowBytes, kvCapacity, position, kvLength, heads, heads / kvHeads);
        (_keyLength, _valueLength, _window, _scale, _softcap) = (keyLength, valueLength, window, scale, softcap);
        _visibleEnd = bidirectional ? position + tokens : 0;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_visibleEnd, kvLength);
        _items = tokens * heads;
        _next = 0;
        _pool.Run(this);
        (_query, _keyDot, _keys, _values, _output) = ([], null, [], [], []);
    }

    void IParallelWork.Execute(int thread, int threadCount)
    {
        var keyDot = _keyDot!;
        var query = _queries[thread];
        while (true)
        {
            var item = Interlocked.Increment(ref _next) - 1;
            if (item >= _items)
            {
                return;
            }
            var (t, h) = Math.DivRem(item, _heads);
            var kvHead = h / _group;
            var p = _position + t;
            // llama.cpp masks a cell when p − cell ≥ n_swa.
            var first = _window > 0 ? Math.Max(0, p - _window + 1) : 0;
            keyDot.QuantizeActivations(_query.AsSpan(item * _keyLength, _keyLength), query, _width);
            Attention.Head(
                query,
                keyDot,
                _keys.AsSpan(kvHead * _kvCapacity * _keyRowBytes, _kvLength * _keyRowBytes),
                _keyRowBytes,
                _keyLength,
                _values.AsSpan(kvHead * _valueLength * _kvCapacity, _valueLength * _kvCapacity),
                _kvCapacity,
                first,
                visible: Math.Max(p + 1, _visibleEnd),
                _kvLength,
                _scale,
                _softcap,
                _output.AsSpan(item * _valueLength, _valueLength),
                _scores[thread],
                _probabilities[thread],
                _width);
        }
    }
}
