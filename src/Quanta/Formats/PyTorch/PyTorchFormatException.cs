namespace Quanta.Formats.PyTorch;

/// <summary>
/// A PyTorch checkpoint that Quanta will not read: a damaged zip, a pickle opcode or global outside the small
/// subset <c>torch.save</c> uses for state dicts, or a tensor that reaches outside its storage. The message names
/// the file, where the fault is (a byte offset in the file, or in <c>data.pkl</c>) and what was expected.
/// </summary>
public sealed class PyTorchFormatException : FileFormatException
{
    public PyTorchFormatException()
    {
    }

    public PyTorchFormatException(string message)
        : base(message)
    {
    }

    public PyTorchFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A fault in <paramref name="file"/> with no byte offset (<see cref="FileFormatException.Offset"/> is −1).</summary>
    public PyTorchFormatException(string? file, string message, Exception? innerException = null)
        : base(file, -1, message, innerException)
    {
    }
}
