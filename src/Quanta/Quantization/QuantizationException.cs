namespace Quanta.Quantization;

/// <summary>
/// A model and a set of options that cannot be planned or quantized the way llama.cpp would: a row length
/// no type fits, a block number out of range in an expert tensor, hyperparameters that contradict each
/// other. The message names the tensor or key at fault.
/// </summary>
public sealed class QuantizationException : Exception
{
    public QuantizationException()
    {
    }

    public QuantizationException(string message)
        : base(message)
    {
    }

    public QuantizationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
