namespace Quanta.Quantization;

/// <summary>Where a running quantization stands; reported after every chunk written.</summary>
/// <param name="TensorNumber">1-based number of the tensor being written.</param>
/// <param name="TensorCount">Tensors in the output.</param>
/// <param name="Entry">The tensor being written and its plan.</param>
/// <param name="TensorCompleted">True on the report that finishes <paramref name="Entry"/>.</param>
/// <param name="SourceBytesDone">Input tensor bytes processed so far, over all tensors.</param>
/// <param name="SourceBytesTotal">Input tensor bytes to process.</param>
/// <param name="BytesWritten">Output tensor bytes written so far.</param>
/// <param name="Elapsed">Time since the quantization started.</param>
public sealed record QuantizationProgress(
    int TensorNumber,
    int TensorCount,
    QuantizationPlanEntry Entry,
    bool TensorCompleted,
    long SourceBytesDone,
    long SourceBytesTotal,
    long BytesWritten,
    TimeSpan Elapsed);
