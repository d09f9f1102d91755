using Quanta.Server.Http;
using Quanta.Store;

namespace Quanta.Server.Ollama;

/// <summary>
/// Model names from requests. Every name goes through <see cref="ModelName.Parse"/>, whose rules leave no way to spell a
/// path outside the store (no empty part, <c>.</c>, <c>..</c>, separator or other character a path could use), so no
/// endpoint can read, write or delete anything but a manifest under <c>manifests/</c>.
/// </summary>
internal static class ModelNames
{
    /// <exception cref="ApiException">400: missing (<paramref name="field"/> is required) or not a valid name.</exception>
    public static ModelName Parse(string? text, string field = "model")
    {
        if (string.IsNullOrEmpty(text))
        {
            throw ApiException.BadRequest($"{field} is required");
        }
        try
        {
            return ModelName.Parse(text);
        }
        catch (FormatException e)
        {
            throw ApiException.BadRequest(e.Message, e);
        }
    }
}
