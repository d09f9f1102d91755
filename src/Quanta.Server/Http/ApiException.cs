namespace Quanta.Server.Http;

/// <summary>
/// An error the API answers with a status and a message: <c>{"error": "..."}</c> on Ollama's routes, OpenAI's error
/// object on <c>/v1</c>. Handlers throw it; <see cref="ApiErrorMiddleware"/> writes it.
/// </summary>
public sealed class ApiException : Exception
{
    public ApiException()
    {
    }

    public ApiException(string message)
        : this(StatusCodes.Status500InternalServerError, message)
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = StatusCodes.Status500InternalServerError;
    }

    public ApiException(int statusCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
    }

    public int StatusCode { get; } = StatusCodes.Status500InternalServerError;

    /// <summary>Ollama's 400 for a malformed request.</summary>
    public static ApiException BadRequest(string message, Exception? inner = null) => new(StatusCodes.Status400BadRequest, message, inner);

    /// <summary>Ollama's 404 for an unknown model.</summary>
    public static ApiException NotFound(string message, Exception? inner = null) => new(StatusCodes.Status404NotFound, message, inner);
}
