using System.Security.Cryptography;

namespace Quanta.Store;

/// <summary>Blob digests: <c>sha256:&lt;64 hex&gt;</c> in JSON, <c>sha256-&lt;64 hex&gt;</c> as file names.</summary>
public static class Digests
{
    public const string Prefix = "sha256:";

    /// <summary>Ollama's <c>^sha256[:-][0-9a-fA-F]{64}$</c>.</summary>
    public static bool IsValid(string? digest) =>
        digest is { Length: 71 }
        && digest.StartsWith("sha256", StringComparison.Ordinal)
        && digest[6] is ':' or '-'
        && digest.AsSpan(7).IndexOfAnyExcept("0123456789abcdefABCDEF") < 0;

    public static string FromHash(ReadOnlySpan<byte> sha256) => Prefix + Convert.ToHexStringLower(sha256);

    public static string Of(ReadOnlySpan<byte> content) => FromHash(SHA256.HashData(content));

    /// <summary>The blob file name: <c>sha256-&lt;hex&gt;</c>, lower-case hex.</summary>
    public static string FileName(string digest)
    {
        if (!IsValid(digest))
        {
            throw new StoreException($"invalid digest '{digest}'");
        }
        return "sha256-" + digest[7..].ToLowerInvariant();
    }

    /// <summary>The 12 hex digits <c>list</c> shows as ID.</summary>
    public static string ShortId(string digest) => digest[(digest.IndexOf(':', StringComparison.Ordinal) + 1)..][..12];
}
