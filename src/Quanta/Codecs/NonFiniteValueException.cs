namespace Quanta.Codecs;

/// <summary>
/// A row handed to an encoder holds NaN or ±infinity. ggml would quietly write garbage scales for it, and
/// llama-quantize refuses such tensors, so Quanta stops with the row and column instead.
/// </summary>
public sealed class NonFiniteValueException : Exception
{
    public NonFiniteValueException()
        : this("a row contains NaN or infinity")
    {
    }

    public NonFiniteValueException(string message)
        : base(message)
    {
    }

    public NonFiniteValueException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public NonFiniteValueException(long row, int column, float value)
        : base($"row {row} holds {Describe(value)} at column {column}; NaN and infinity cannot be quantized")
    {
        Row = row;
        Column = column;
        Value = value;
    }

    /// <summary>Index of the offending row within the rows passed to <see cref="IBlockCodec.Encode"/>.</summary>
    public long Row { get; }

    /// <summary>Index of the first non-finite value within that row.</summary>
    public int Column { get; }

    public float Value { get; }

    static string Describe(float value) =>
        float.IsNaN(value) ? "NaN" : float.IsPositiveInfinity(value) ? "+infinity" : "-infinity";
}
