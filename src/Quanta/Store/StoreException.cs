namespace Quanta.Store;

/// <summary>Something about the store or a model in it is wrong: a missing model, a damaged blob, a bad manifest.</summary>
public class StoreException : Exception
{
    public StoreException()
    {
    }

    public StoreException(string message)
        : base(message)
    {
    }

    public StoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>No model by that name: Ollama's <c>model '&lt;name&gt;' not found</c>.</summary>
public sealed class ModelNotFoundException : StoreException
{
    public ModelNotFoundException()
    {
    }

    public ModelNotFoundException(string message)
        : base(message)
    {
    }

    public ModelNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A blob is missing or its bytes no longer hash to its name; it is reported and never used.</summary>
public sealed class CorruptBlobException : StoreException
{
    public CorruptBlobException()
    {
    }

    public CorruptBlobException(string message)
        : base(message)
    {
    }

    public CorruptBlobException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>An uploaded blob's bytes hash to another digest than the one it was sent as; it is not kept.</summary>
public sealed class DigestMismatchException : StoreException
{
    public DigestMismatchException()
    {
    }

    public DigestMismatchException(string message)
        : base(message)
    {
    }

    public DigestMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
