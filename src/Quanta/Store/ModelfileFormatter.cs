using System.Text;

namespace Quanta.Store;

/// <summary>Writes values and whole Modelfiles so that they parse back to the same instructions.</summary>
public static class ModelfileFormatter
{
    /// <summary>
    /// Ollama's <c>quote</c>, made safe for every value its parser can give back: a value with a line end,
    /// leading or trailing spaces, a leading quote or no text at all is quoted; with <c>"""</c> if it
    /// contains a <c>"</c>, otherwise with <c>"</c>.
    /// </summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var needsQuotes = value.Length == 0
            || value.AsSpan().IndexOfAny('\n', '\r') >= 0
            || value[0] is ' ' or '\t' or '"'
            || value[^1] is ' ' or '\t';
        if (!needsQuotes)
        {
            return value;
        }
        return value.Contains('"', StringComparison.Ordinal) ? "\"\"\"" + value + "\"\"\"" : "\"" + value + "\"";
    }

    /// <summary>Modelfile text for a list of instructions.</summary>
    public static string Format(IEnumerable<ModelfileInstruction> instructions)
    {
        ArgumentNullException.ThrowIfNull(instructions);
        var sb = new StringBuilder();
        foreach (var instruction in instructions)
        {
            sb.Append(instruction).Append('\n');
        }
        return sb.ToString();
    }
}
