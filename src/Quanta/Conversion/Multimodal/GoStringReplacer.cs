namespace Quanta.Conversion;

/// <summary>
/// Go's <c>strings.NewReplacer(old1, new1, ...)</c>, which Ollama's converters rename tensors with: one pass
/// over the string, left to right; at each position the first pair (in argument order) whose old string
/// matches there is replaced and the scan continues after it; replaced text is never rescanned.
/// </summary>
public sealed class GoStringReplacer
{
    readonly (string Old, string New)[] _pairs;

    public GoStringReplacer(params (string Old, string New)[] pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Any(p => p.Old.Length == 0))
        {
            throw new ArgumentException("an empty old string is not supported", nameof(pairs));
        }
        _pairs = pairs;
    }

    public string Replace(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new System.Text.StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var matched = false;
            foreach (var (old, replacement) in _pairs)
            {
                if (i + old.Length <= text.Length && text.AsSpan(i, old.Length).SequenceEqual(old))
                {
                    result.Append(replacement);
                    i += old.Length;
                    matched = true;
                    break;
                }
            }
            if (!matched)
            {
                result.Append(text[i]);
                i++;
            }
        }
        return result.ToString();
    }
}
