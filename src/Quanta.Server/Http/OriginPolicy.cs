namespace Quanta.Server.Http;

/// <summary>
/// Which browser origins may call the API, as Ollama decides it (envconfig.AllowedOrigins with gin-contrib/cors,
/// wildcards on): the origins of <c>QUANTA_ORIGINS</c>, then always <c>http(s)://localhost</c>, <c>127.0.0.1</c> and
/// <c>0.0.0.0</c> with any port, and the app schemes of desktop shells and editors (<c>app://</c>, <c>file://</c>,
/// <c>tauri://</c>, <c>vscode-webview://</c>, <c>vscode-file://</c>). An entry is compared lower-cased and trimmed;
/// one <c>*</c> in it matches any text there (prefix and suffix); <c>*</c> alone allows every origin.
/// </summary>
public sealed class OriginPolicy
{
    readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    readonly List<(string Prefix, string Suffix)> _wildcards = [];

    public OriginPolicy(IEnumerable<string> configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        foreach (var raw in configured.Concat(Defaults))
        {
            var origin = raw.Trim().ToLowerInvariant();
            if (origin == "*")
            {
                AllowsAll = true;
                continue;
            }
            var star = origin.IndexOf('*', StringComparison.Ordinal);
            if (star < 0)
            {
                _exact.Add(origin);
            }
            else
            {
                _wildcards.Add((origin[..star], origin[(star + 1)..]));
            }
        }
    }

    /// <summary>What Ollama appends to every configuration.</summary>
    public static IReadOnlyList<string> Defaults { get; } =
    [
        .. new[] { "localhost", "127.0.0.1", "0.0.0.0" }.SelectMany(host => new[]
        {
            $"http://{host}", $"https://{host}", $"http://{host}:*", $"https://{host}:*",
        }),
        "app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*",
    ];

    /// <summary><c>*</c> was configured: the answer is <c>Access-Control-Allow-Origin: *</c>.</summary>
    public bool AllowsAll { get; }

    /// <summary>gin-contrib/cors's validateOrigin: exact entries, then wildcard prefix and suffix.</summary>
    public bool Allows(string origin)
    {
        ArgumentNullException.ThrowIfNull(origin);
        return AllowsAll
            || _exact.Contains(origin)
            || _wildcards.Exists(w => origin.StartsWith(w.Prefix, StringComparison.Ordinal) && origin.EndsWith(w.Suffix, StringComparison.Ordinal));
    }
}
