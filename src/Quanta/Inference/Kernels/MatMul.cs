namespace Quanta.Inference.Kernels;

/// <summary>
/// <c>y = W·x</c> for a batch of tokens, as ggml-cpu's <c>mul_mat</c>: every token's activations converted once
/// to the weights' <c>vec_dot_type</c>, then the weight rows split across the threads, each row dotted with every
/// token while it is in cache. Buffers are the caller's and reused; nothing is allocated per call.
/// </summary>
public sealed class MatMul : IParallelWork
{
    readonly WorkerPool _pool;
    readonly KernelWidth _width;
    byte[] _activations = [];
    LinearWeights? _weights;
    float[]? _output;
    int _tokens;
    int _outputOffset;
    int _outputStride;

    public MatMul(WorkerPool pool, KernelWidth width)
    {
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _width = width;
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
        // Importance-matrix hook (llama-imatrix's cb_eval): the float activations, before they are quantized.
        ActivationObservation.Current?.Observe(weights.Tensor.Name, x[..(tokens * weights.Columns)], tokens, weights.Columns);
        var rowBytes = weights.ActivationRowBytes;
        if (_activations.Length < rowBytes * tokens)
        {
            // Grows to the largest batch once; later calls reuse it.
            _activations = new byte[rowBytes * tokens];
        }
        for (var t = 0; t < tokens; t++)
        {
            weights.Dot.QuantizeActivations(x.Slice(t * weights.Columns, weights.Columns), _activations.AsSpan(t * rowBytes, rowBytes), _width);
        }
        _weights = weights;
        _output = y;
        _tokens = tokens;
        _outputOffset = offset;
        _outputStride = stride;
        _pool.Run(this);
        _weights = null;
        _output = null;
    }

    void IParallelWork.Execute(int thread, int threadCount)
    {
        var weights = _weights!;
        var first = (int)((long)weights.Rows * thread / threadCount);
        var end = (int)((long)weights.Rows * (thread + 1) / threadCount);
        var data = weights.Tensor.Data;
        var rowBytes = weights.ActivationRowBytes;
        var activations = _activations.AsSpan();
        var output = _output!;
        for (var r = first; r < end; r++)
        {
            var row = data.Slice(r * weights.RowBytes, weights.RowBytes);
            for (var t = 0; t < _tokens; t++)
            {
                output[_outputOffset + t * _outputStride + r] = weights.Dot.Dot(row, activations.Slice(t * rowBytes, rowBytes), weights.Columns, _width);
            }
        }
    }
}
