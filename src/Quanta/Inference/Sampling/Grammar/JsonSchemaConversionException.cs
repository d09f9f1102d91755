namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// A JSON schema that cannot be turned into a grammar (llama.cpp's "JSON schema conversion failed"): an
/// unknown type, an unsupported <c>$ref</c>, a malformed pattern. The message lists every problem found.
/// </summary>
public sealed class JsonSchemaConversionException : Exception
{
    /// <summary>An error with its message.</summary>
    public JsonSchemaConversionException(string message)
        : base(message)
    {
    }

    /// <summary>An error without a message.</summary>
    public JsonSchemaConversionException()
    {
    }

    /// <summary>An error wrapping another (e.g. the schema is not JSON).</summary>
    public JsonSchemaConversionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
