namespace Quanta.Inference.Kernels;

/// <summary>
/// <c>y = W·x</c> for a batch of tokens, as ggml-cpu's <c>mul_mat</c>: every token's activations converted once
/// to the weights' <c>vec_dot_type</c>, then the weight rows handed out to the threads in chunks (taken from a
/// shared counter, so a thread the machine runs late takes fewer), each chunk multiplied with every token in
/// tiles (<see cref="IMatrixDot"/>) where the type has them, else row by row. Buffers are the caller's and
/// reused; nothing is allocated per call.
/// </summary>
public sealed unsafe class MatMul : IParallelWork
{
    /// <summary>Rows per chunk are a multiple of this (the tile kernels' row group).</summary>
    const int RowAlignment = 4;

    /// <summary>Chunks per thread: enough for one thread to make up for another that starts late.</summary>
    const int ChunksPerThread = 8;

    /// <summary>Batches of at least this many tokens convert their activations on every thread.</summary>
    const int ParallelConversionTokens = 32;

    readonly ActivationConversion _conversion;

    readonly WorkerPool _pool;
    readonly KernelWidth _width;
    byte[] _activations = [];
    byte[] _prepared = [];
    int _preparedBytes;
    float[] _wideActivations = [];
    bool _widened;
    bool _oneF16Token;
    LinearWeights? _weights;
    float[]? _output;
    int _tokens;
    int _outputOffset;
    int _outputStride;
    int _chunkRows;
    int _nextChunk;

    public MatMul(WorkerPool pool, KernelWidth width)
    {
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _width = width;
        _conversion = new ActivationConversion(pool);
    }

    /// <summary>
    /// For each of <paramref name="tokens"/> rows of <paramref name="x"/> (<c>Columns</c> floats each), writes the
    /// <c>Rows</c> results to <paramref name="y"/> at <c>t·Rows</c>.
    /// </summary>
    public void Multiply(LinearWeights weights, ReadOnlySpan<float> x, int tokens, float[] y) =>
        Multiply(weights, x, tokens, y, 0, weights.Rows);

    /// <summary>As <see cref="Multiply(LinearWeights, ReadOnlySpan{float}, int, float[])"/>, token t's results at <c>offset + t·stride</c>.</summary>
    public void Multiply(LinearWeights weights, ReadOnlySpan<float> x, int tokens, float[] y, int offset, int stride)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        if (x.Length < (long)tokens * weights.Columns)
        {
            throw new ArgumentException($"{x.Length} floats cannot hold {tokens} × {weights.Columns} activations", nameof(x));
        }
        if (offset < 0 || stride < weights.Rows || y.Length < offset + ((long)(tokens - 1) * stride) + weights.Rows)
        {
            throw new ArgumentException($"{y.Length} floats at offset {offset}, stride {stride} cannot hold {tokens} × {weights.Rows} results", nameof(y));
        }
        // Importance-matrix hook (llama-imatrix's cb_eval): the float activations, before they are quantized.
        ActivationObservation.Current?.Observe(weights.Tensor.Name, x[..(tokens * weights.Columns)], tokens, weights.Columns);
        var rowBytes = weights.ActivationRowBytes;
        if (_activations.Length < rowBytes * tokens)
        {
            // Grows to the largest batch once; later calls reuse it.
            _activations = new byte[rowBytes * tokens];
        }
        // F16 weights: the F16-rounded activations widened to float here, once, rather than by every chunk of rows;
        // a single token (generation) also gets them times 2^112, for F16ScaledDot's cheaper weight conversion.
        var f16 = weights.Dot is F16Dot half && half.CanMultiply(_width);
        _widened = f16 && tokens > 1;
        _oneF16Token = f16 && tokens == 1;
        var wide = tokens * weights.Columns;
        if (f16 && _wideActivations.Length < 2 * wide)
        {
            _wideActivations = new float[2 * wide];
        }
        if (_widened)
        {
            // Allocated here, before the threads share it out.
            _ = weights.RowGroupChecks;
        }
        fixed (float* px = x)
        {
            _conversion.Convert(weights, px, tokens, _activations, f16 ? _wideActivations : null, _width, parallel: tokens >= ParallelConversionTokens);
        }
        // Tiles that read the batch in a layout of their own (Q8_0): laid out here, once, not by every chunk of rows.
        _preparedBytes = weights.Dot is IPreparedMatrixDot prepared ? prepared.PreparedBytes(tokens, weights.Columns, _width) : 0;
        if (_preparedBytes > 0)
        {
            if (_prepared.Length < _preparedBytes)
            {
                _prepared = GC.AllocateUninitializedArray<byte>(_preparedBytes, pinned: true);
            }
            ((IPreparedMatrixDot)weights.Dot).Prepare(_activations.AsSpan(0, rowBytes * tokens), rowBytes, tokens, weights.Columns, _prepared);
        }
        _weights = weights;
        _output = y;
        _tokens = tokens;
        _outputOffset = offset;
        _outputStride = stride;
        var chunks = Math.Max(1, _pool.ThreadCount * ChunksPerThread);
        _chunkRows = Math.Max(RowAlignment, (weights.Rows + chunks - 1) / chunks / RowAlignment * RowAlignment);
        _nextChunk = 0;
        _pool.Run(this);
        _weights = null;
        _output = null;
    }

    void IParallelWork.Execute(int thread, int threadCount)
    {
        var weights = _weights!;
        var data = weights.Tensor.Data;
        var activationRowBytes = weights.ActivationRowBytes;
        var activations = _activations.AsSpan(0, activationRowBytes * _tokens);
        var output = _output!;
        var tiles = weights.Dot as IMatrixDot;
        if (tiles is not null && !tiles.CanMultiply(_width))
        {
            tiles = null;
        }
        while (true)
        {
            var first = Interlocked.Increment(ref _nextChunk) - 1;
            first *= _chunkRows;
            if (first >= weights.Rows)
            {
                return;
            }
            var rows = Math.Min(_chunkRows, weights.Rows - first);
            if (_oneF16Token)
            {
                var n = weights.Columns;
                F16Dot.MultiplyOneToken(
                    data.Slice(first * weights.RowBytes, rows * weights.RowBytes), weights.RowBytes, rows,
                    _wideActivations.AsSpan(0, n), _wideActivations.AsSpan(n, n), n,
                    output.AsSpan(_outputOffset + first, rows));
                continue;
            }
            if (_widened)
            {
                var start = _outputOffset + first;
                var wide = _tokens * weights.Columns;
                F16Dot.MultiplyWidened(
                    data.Slice(first * weights.RowBytes, rows * weights.RowBytes), weights.RowBytes, rows,
                    _wideActivations.AsSpan(0, wide), _wideActivations.AsSpan(wide, wide), _tokens, weights.Columns,
                    output.AsSpan(start, ((_tokens - 1) * _outputStride) + rows), _outputStride, weights.RowGroupChecks.AsSpan(first / RowAlignment));
                continue;
            }
            if (_preparedBytes > 0)
            {
                var start = _outputOffset + first;
                ((IPreparedMatrixDot)tiles!).Multiply(
                    data.Slice(first * weights.RowBytes, rows * weights.RowBytes), weights.RowBytes, rows,
                    activations, activationRowBytes, _prepared.AsSpan(0, _preparedBytes), _tokens, weights.Columns,
                    output.AsSpan(start, ((_tokens - 1) * _outputStride) + rows), _outputStride);
                continue;
            }
            if (tiles is not null)
            {
                var start = _outputOffset + first;
                tiles.Multiply(
                    data.Slice(first * weights.RowBytes, rows * weights.RowBytes), weights.RowBytes, rows,
                    activations, activationRowBytes, _tokens, weights.Columns,
                    output.AsSpan(start, ((_tokens - 1) * _outputStride) + rows), _outputStride);
                continue;
            }
            for (var r = first; r < first + rows; r++)
            {
                var row = data.Slice(r * weights.RowBytes, weights.RowBytes);
                for (var t = 0; t < _tokens; t++)
                {
                    output[_outputOffset + (t * _outputStride) + r] = weights.Dot.Dot(row, activations.Slice(t * activationRowBytes, activationRowBytes), weights.Columns, _width);
                }
            }
        }
    }

    /// <summary>
    /// Each token's activations converted to the weights' <c>vec_dot_type</c> and, for F16 weights, widened back to
    /// float and times 2^112 behind them (<see cref="F16ScaledDot"/>): token by token, so a large batch is shared out
    /// to the threads in groups of tokens (every token's conversion is the same whichever thread does it).
    /// </summary>
    sealed class ActivationConversion(WorkerPool pool) : IParallelWork
    {
        const int TokensPerItem = 16;

        LinearWeights? _weights;
        float* _x;
        int _tokens;
        byte[] _activations = [];
        float[]? _wide;
        KernelWidth _width;
        int _next;

        public void Convert(LinearWeights weights, float* x, int tokens, byte[] activations, float[]? wide, KernelWidth width, bool parallel)
        {
            _x = x;
            (_weights, _tokens, _activations, _wide, _width, _next) = (weights, tokens, activations, wide, width, 0);
            try
            {
                if (parallel)
                {
                    pool.Run(this);
                }
                else
                {
                    ConvertTokens(0, tokens);
                }
            }
            finally
            {
                _x = null;
                (_weights, _activations, _wide) = (null, [], null);
            }
        }

        void IParallelWork.Execute(int thread, int threadCount)
        {
            while (true)
            {
                var first = (Interlocked.Increment(ref _next) - 1) * TokensPerItem;
                if (first >= _tokens)
                {
                    return;
                }
                ConvertTokens(first, Math.Min(_tokens, first + TokensPerItem));
            }
        }

        void ConvertTokens(int from, int to)
        {
            var weights = _weights!;
            var n = weights.Columns;
            var rowBytes = weights.ActivationRowBytes;
            for (var t = from; t < to; t++)
            {
                var row = _activations.AsSpan(t * rowBytes, rowBytes);
                weights.Dot.QuantizeActivations(new ReadOnlySpan<float>(_x + ((long)t * n), n), row, _width);
                if (_wide is { } wide)
                {
                    var widened = wide.AsSpan(t * n, n);
                    F16Dot.WidenActivations(row, rowBytes, 1, n, widened);
                    F16Dot.ScaleActivations(widened, wide.AsSpan((_tokens * n) + (t * n), n));
                }
            }
        }
    }
}
