using System.Text.RegularExpressions;
using Quanta.Formats;

namespace Quanta.Quantization;

/// <summary>
/// A <c>--tensor-type PATTERN=TYPE</c> override: tensors whose name contains a match for the regular
/// expression get the type instead of the mix rule's choice (the row-length fallback still applies).
/// </summary>
public sealed class TensorTypeOverride
{
    /// <summary>
    /// std::regex's default grammar is ECMAScript, so the .NET regex uses ECMAScript semantics too (<c>\d</c>
    /// and <c>\w</c> ASCII only); culture-invariant so that a machine's locale never changes a match.
    /// </summary>
    const RegexOptions PatternOptions = RegexOptions.ECMAScript | RegexOptions.CultureInvariant;

    readonly Regex _regex;

    /// <summary>An override with the pattern used exactly as given.</summary>
    public TensorTypeOverride(string pattern, GgmlType type)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        try
        {
            _regex = new Regex(pattern, PatternOptions);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"invalid tensor name pattern '{pattern}': {e.Message}", nameof(pattern), e);
        }
        Pattern = pattern;
        Type = type;
    }

    public string Pattern { get; }

    public GgmlType Type { get; }

    /// <summary><c>std::regex_search</c>: true when the pattern matches anywhere in the name.</summary>
    public bool Matches(string tensorName) => _regex.IsMatch(tensorName);

    /// <summary>
    /// Parses the command-line form <c>PATTERN=TYPE</c> as <c>llama-quantize</c> does: split at the first
    /// <c>=</c>, pattern lower-cased (tensor names are lower case), type by ggml name in any case.
    /// </summary>
    public static TensorTypeOverride Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var separator = text.IndexOf('=', StringComparison.Ordinal);
        if (separator < 0)
        {
            throw new ArgumentException($"malformed tensor type '{text}': expected PATTERN=TYPE, e.g. attn_v=q6_k", nameof(text));
        }
        if (separator == 0)
        {
            throw new ArgumentException($"malformed tensor type '{text}': missing tensor name", nameof(text));
        }
        var typeName = text[(separator + 1)..];
        if (typeName.Length == 0)
        {
            throw new ArgumentException($"malformed tensor type '{text}': missing quantization type", nameof(text));
        }
        if (!GgmlTypeInfo.TryParse(typeName, out var info))
        {
            throw new ArgumentException(
                $"invalid quantization type '{typeName}' in '{text}'; valid ggml types: {string.Join(", ", GgmlTypeInfo.Types.Select(t => t.Name))}",
                nameof(text));
        }
        return new TensorTypeOverride(text[..separator].ToLowerInvariant(), info.Type);
    }

    public override string ToString() => $"{Pattern}={GgmlTypeInfo.Of(Type).Name}";
}
