using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>What a finished quantization wrote.</summary>
/// <param name="Plan">The plan that was executed.</param>
/// <param name="OutputPaths">The files written: one, or every shard of a split set in order.</param>
/// <param name="Tensors">The output's tensors with their types.</param>
/// <param name="Elapsed">Wall time of the whole run, planning excluded.</param>
/// <param name="RequantizedTensors">Tensors decoded from a quantized type and encoded again.</param>
public sealed record QuantizationResult(
    QuantizationPlan Plan,
    IReadOnlyList<string> OutputPaths,
    IReadOnlyList<GgufTensorInfo> Tensors,
    TimeSpan Elapsed,
    int RequantizedTensors)
{
    public long SourceBytes => Plan.SourceBytes;

    public long TargetBytes => Plan.TargetBytes;

    /// <summary>Input tensor bytes per second.</summary>
    public double SourceBytesPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : SourceBytes / Elapsed.TotalSeconds;

    /// <summary>Bytes on disk, all files together.</summary>
    public long FileBytes => OutputPaths.Sum(p => new FileInfo(p).Length);
}
