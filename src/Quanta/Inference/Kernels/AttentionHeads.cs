using System.Runtime.InteropServices;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// <see cref="Attention.Head"/> for every (token, query head) of a batch, handed out to the threads of a
/// <see cref="WorkerPool"/> one (KV head, token) at a time — the query heads that share the KV head together — as
/// ggml-cpu splits its attention products across threads. Each pair is computed exactly as on one thread; each
/// thread has its own scratch (the query converted for the key type, scores, probabilities), grown with the cache
/// and reused. A thread widens the F16 cache of the KV head it works on to float once (exact) and keeps it while
/// its items stay on that head (they come in KV-head order), instead of converting every key and value again for
/// every query head and token; over <see cref="WideBudgetBytes"/> per thread it converts as it goes.
/// </summary>
public sealed class AttentionHeads : IParallelWork
{
    readonly WorkerPool _pool;
    readonly KernelWidth _width;
    readonly byte[][] _queries;
    readonly float[][] _scores;
    readonly float[][] _pairScores;
    readonly float[][] _pairQueries;
    readonly ushort[][] _probabilities;
    readonly float[][] _wideKeys;
    readonly float[][] _wideValues;
    readonly int[] _wideHead;
    bool _widen;
    int _tokens;
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
        _pairScores = new float[pool.ThreadCount][];
        _pairQueries = new float[pool.ThreadCount][];
        _probabilities = new ushort[pool.ThreadCount][];
        _wideKeys = new float[pool.ThreadCount][];
        _wideValues = new float[pool.ThreadCount][];
        _wideHead = new int[pool.ThreadCount];
        for (var i = 0; i < pool.ThreadCount; i++)
        {
            _queries[i] = [];
            _scores[i] = [];
            _pairScores[i] = [];
            _pairQueries[i] = [];
            _probabilities[i] = [];
            _wideKeys[i] = [];
            _wideValues[i] = [];
        }
    }

    /// <summary>At most this many bytes of widened cache per thread (one KV head's keys and values).</summary>
    const long WideBudgetBytes = 16L << 20;

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
                _pairScores[i] = new float[kvCapacity];
                _probabilities[i] = new ushort[kvCapacity];
            }
            if (_pairQueries[i].Length < 2 * keyLength)
            {
                _pairQueries[i] = new float[2 * keyLength];
            }
        }
        (_query, _keyDot, _keys, _values, _output) = (query, keyDot, keys, values, output);
        (_keyRowBytes, _kvCapacity, _position, _kvLength, _heads, _group) = (keyRowBytes, kvCapacity, position, kvLength, heads, heads / kvHeads);
        (_keyLength, _valueLength, _window, _scale, _softcap) = (keyLength, valueLength, window, scale, softcap);
        _visibleEnd = bidirectional ? position + tokens : 0;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_visibleEnd, kvLength);
        _tokens = tokens;
        _items = tokens * kvHeads;
        var wideKeyFloats = keyDot is F16Dot ? (long)kvLength * keyLength : 0;
        var wideValueFloats = (long)kvLength * valueLength;
        _widen = (wideKeyFloats + wideValueFloats) * sizeof(float) <= WideBudgetBytes;
        for (var i = 0; i < _pool.ThreadCount; i++)
        {
            _wideHead[i] = -1;
            if (_widen && _wideKeys[i].Length < wideKeyFloats)
            {
                _wideKeys[i] = new float[wideKeyFloats];
            }
            if (_widen && _wideValues[i].Length < wideValueFloats)
            {
                _wideValues[i] = new float[wideValueFloats];
            }
        }
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
            var (kvHead, t) = Math.DivRem(item, _tokens);
            var wideKeys = ReadOnlySpan<float>.Empty;
            var wideValues = ReadOnlySpan<float>.Empty;
            if (_widen)
            {
                if (_wideHead[thread] != kvHead)
                {
                    Widen(thread, keyDot, kvHead);
                    _wideHead[thread] = kvHead;
                }
                wideKeys = keyDot is F16Dot ? _wideKeys[thread].AsSpan(0, _kvLength * _keyLength) : default;
                wideValues = _wideValues[thread].AsSpan(0, _kvLength * _valueLength);
            }
            var p = _position + t;
            // llama.cpp masks a cell when p − cell ≥ n_swa.
            var first = _window > 0 ? Math.Max(0, p - _window + 1) : 0;
            var h = kvHead * _group;
            var visible = Math.Max(p + 1, _visibleEnd);
            if (!wideKeys.IsEmpty && _width != KernelWidth.Scalar && _keyLength % 32 == 0)
            {
                // Query heads two at a time over the same widened cache: each key and value is loaded once for both.
                for (; h + 2 <= (kvHead + 1) * _group; h += 2)
                {
                    var queries = _pairQueries[thread].AsSpan(0, 2 * _keyLength);
                    for (var i = 0; i < 2; i++)
                    {
                        // keyDot's conversion (F16 rounding), widened back as Head widens its query.
                        keyDot.QuantizeActivations(_query.AsSpan((((t * _heads) + h + i) * _keyLength), _keyLength), query, _width);
                        Fp16.ToFloat(MemoryMarshal.Cast<byte, ushort>(query.AsSpan())[.._keyLength], queries.Slice(i * _keyLength, _keyLength));
                    }
                    var slot = (t * _heads) + h;
                    Attention.WideHeadPair(
                        queries[.._keyLength], queries[_keyLength..], wideKeys, wideValues, _keyLength, first, visible, _kvLength, _scale, _softcap,
                        _output.AsSpan(slot * _valueLength, _valueLength), _output.AsSpan((slot + 1) * _valueLength, _valueLength),
                        _scores[thread], _pairScores[thread], _probabilities[thread]);
                }
            }
            for (; h < (kvHead + 1) * _group; h++)
            {
                var slot = (t * _heads) + h;
                keyDot.QuantizeActivations(_query.AsSpan(slot * _keyLength, _keyLength), query, _width);
                Attention.Head(
                    query,
                    keyDot,
                    _keys.AsSpan(kvHead * _kvCapacity * _keyRowBytes, _kvLength * _keyRowBytes),
                    _keyRowBytes,
                    _keyLength,
                    _values.AsSpan(kvHead * _valueLength * _kvCapacity, _valueLength * _kvCapacity),
                    _kvCapacity,
                    wideKeys,
                    wideValues,
                    first,
                    visible,
                    _kvLength,
                    _scale,
                    _softcap,
                    _output.AsSpan(slot * _valueLength, _valueLength),
                    _scores[thread],
                    _probabilities[thread],
                    _width);
            }
        }
    }

    /// <summary>This KV head's F16 keys (F16 cache only) and values, <see cref="_kvLength"/> cells, widened to float.</summary>
    unsafe void Widen(int thread, IVecDot keyDot, int kvHead)
    {
        var width = _width;
        if (keyDot is F16Dot)
        {
            fixed (byte* keys = _keys)
            fixed (float* wide = _wideKeys[thread])
            {
                var head = keys + ((long)kvHead * _kvCapacity * _keyRowBytes);
                for (var j = 0; j < _kvLength; j++)
                {
                    HalfWidening.Row((ushort*)(head + ((long)j * _keyRowBytes)), wide + ((long)j * _keyLength), _keyLength, width);
                }
            }
        }
        fixed (ushort* values = _values)
        fixed (float* wide = _wideValues[thread])
        {
            var head = values + ((long)kvHead * _valueLength * _kvCapacity);
            for (var d = 0; d < _valueLength; d++)
            {
                HalfWidening.Row(head + ((long)d * _kvCapacity), wide + ((long)d * _kvLength), _kvLength, width);
            }
        }
    }
}
