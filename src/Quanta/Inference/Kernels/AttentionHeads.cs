namespace Quanta.Inference.Kernels;

/// <summary>
/// <see cref="Attention.Head"/> for every (token, query head) of a batch, handed out to the threads of a
/// <see cref="WorkerPool"/> one pair at a time, as ggml-cpu splits its attention products across threads. Each
/// pair is computed exactly as on one thread; each thread has its own scratch, grown with the cache and reused.
/// </summary>
public sealed class AttentionHeads : IParallelWork
{
    readonly WorkerPool _pool;
    readonly KernelWidth _width;
    readonly float[][] _scores;
    readonly ushort[][] _scratch16;
    float[] _query = [];
    ushort[] _keys = [];
    ushort[] _values = [];
    float[] _output = [];
    int _kvCapacity;
    int _position;
    int _kvLength;
    int _heads;
    int _group;
    int _keyLength;
    int _valueLength;
    float _scale;
    int _items;
    int _next;

    public AttentionHeads(WorkerPool pool, KernelWidth width)
    {
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _width = width;
        _scores = new float[pool.ThreadCount][];
        _scratch16 = new ushort[pool.ThreadCount][];
        for (var i = 0; i < pool.ThreadCount; i++)
        {
            _scores[i] = [];
            _scratch16[i] = [];
        }
    }

    /// <summary>
    /// Attention of <paramref name="tokens"/> queries (<c>[token][head][keyLength]</c> in <paramref name="query"/>) at
    /// positions <paramref name="position"/>.. over one layer's cache (<c>keys[kvHead][cell][dim]</c>,
    /// <c>values[kvHead][dim][cell]</c>, <paramref name="kvCapacity"/> cells per head), each token seeing the cells up to
    /// its own; query head h reads KV head h / (heads / kvHeads). Results to <paramref name="output"/> as
    /// <c>[token][head][valueLength]</c>.
    /// </summary>
    public void Run(
        float[] query, ushort[] keys, ushort[] values, int kvCapacity, int tokens, int position, int kvLength,
        int heads, int kvHeads, int keyLength, int valueLength, float scale, float[] output)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(kvLength, kvCapacity);
        for (var i = 0; i < _pool.ThreadCount; i++)
        {
            if (_scores[i].Length < kvLength)
            {
                // Grows with the longest context so far; later calls reuse it.
                _scores[i] = new float[kvCapacity];
            }
            if (_scratch16[i].Length < Math.Max(keyLength, valueLength) + kvLength)
            {
                _scratch16[i] = new ushort[Math.Max(keyLength, valueLength) + kvCapacity];
            }
        }
        (_query, _keys, _values, _output) = (query, keys, values, output);
        (_kvCapacity, _position, _kvLength, _heads, _group) = (kvCapacity, position, kvLength, heads, heads / kvHeads);
        (_keyLength, _valueLength, _scale) = (keyLength, valueLength, scale);
        _items = tokens * heads;
        _next = 0;
        _pool.Run(this);
        (_query, _keys, _values, _output) = ([], [], [], []);
    }

    void IParallelWork.Execute(int thread, int threadCount)
    {
        while (true)
        {
            var item = Interlocked.Increment(ref _next) - 1;
            if (item >= _items)
            {
                return;
            }
            var (t, h) = Math.DivRem(item, _heads);
            var kvHead = h / _group;
            Attention.Head(
                _query.AsSpan(item * _keyLength, _keyLength),
                _keys.AsSpan(kvHead * _kvCapacity * _keyLength, _kvLength * _keyLength),
                _values.AsSpan(kvHead * _valueLength * _kvCapacity, _valueLength * _kvCapacity),
                _kvCapacity,
                visible: _position + t + 1,
                _kvLength,
                _scale,
                _output.AsSpan(item * _valueLength, _valueLength),
                _scores[thread],
                _scratch16[thread],
                _width);
        }
    }
}
