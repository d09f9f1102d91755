using System.Collections.Frozen;
using System.Text.Json;

namespace Quanta.Templates.Ollama;

/// <summary>One of Ollama's named templates: its TEMPLATE text and the stop words its parameters file gives.</summary>
public sealed record NamedTemplate(string Name, string Template, IReadOnlyList<string> Stop);

/// <summary>
/// Ollama's library of named templates (ollama/ollama <c>template/template.go</c>, <c>Named</c>; the files
/// <c>template/index.json</c>, <c>*.gotmpl</c> and <c>*.json</c> are embedded as Ollama embeds them). When a model is
/// created from a GGUF file without a TEMPLATE, Ollama (<c>server/model.go</c>, <c>detectChatTemplate</c>) takes the
/// named template whose Hugging Face chat template is closest to the file's <c>tokenizer.chat_template</c> (edit
/// distance under 100) as its TEMPLATE, and that template's stop words as its <c>stop</c> parameter: the turn-end
/// markers a model keeps writing otherwise.
/// </summary>
public static class OllamaNamedTemplates
{
    sealed record IndexEntry(string Template, string Name);

    sealed record Parameters(List<string>? Stop);

    static readonly Lazy<(IReadOnlyList<IndexEntry> Index, FrozenDictionary<string, NamedTemplate> Named)> Library = new(Load);

    /// <summary>The named templates by name.</summary>
    public static IReadOnlyDictionary<string, NamedTemplate> All => Library.Value.Named;

    /// <summary>
    /// The named template for a Hugging Face chat template, as Ollama's <c>Named</c>: the index entry at the smallest
    /// edit distance (counted in code points, the first of equals), if under 100; else null.
    /// </summary>
    public static NamedTemplate? Match(string chatTemplate)
    {
        ArgumentNullException.ThrowIfNull(chatTemplate);
        var text = CodePoints(chatTemplate);
        var best = int.MaxValue;
        IndexEntry? match = null;
        foreach (var entry in Library.Value.Index)
        {
            // Only a strictly smaller distance replaces the best one; Distance gives up at that bound.
            var distance = Distance(text, CodePoints(entry.Template), Math.Min(best, 100));
            if (distance < best)
            {
                best = distance;
                match = entry;
            }
        }
        return best < 100 ? Library.Value.Named[match!.Name] : null;
    }

    /// <summary>
    /// The Levenshtein distance of <paramref name="a"/> and <paramref name="b"/>, or <paramref name="bound"/> when it
    /// is at least that (the length difference alone, or a whole row of the table, reaching it).
    /// </summary>
    static int Distance(int[] a, int[] b, int bound)
    {
        if (Math.Abs(a.Length - b.Length) >= bound)
        {
            return bound;
        }
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            var rowMin = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
                rowMin = Math.Min(rowMin, current[j]);
            }
            if (rowMin >= bound)
            {
                return bound;
            }
            (previous, current) = (current, previous);
        }
        return Math.Min(previous[b.Length], bound);
    }

    static int[] CodePoints(string s)
    {
        var points = new List<int>(s.Length);
        foreach (var rune in s.EnumerateRunes())
        {
            points.Add(rune.Value);
        }
        return [.. points];
    }

    static (IReadOnlyList<IndexEntry>, FrozenDictionary<string, NamedTemplate>) Load()
    {
        var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
        var index = JsonSerializer.Deserialize<List<IndexEntry>>(Resource("index.json"), options)!;
        var named = new Dictionary<string, NamedTemplate>(StringComparer.Ordinal);
        foreach (var name in index.Select(e => e.Name).Distinct(StringComparer.Ordinal))
        {
            // Ollama normalizes the line endings of its embedded templates.
            var template = Resource(name + ".gotmpl").Replace("\r\n", "\n", StringComparison.Ordinal);
            var parameters = JsonSerializer.Deserialize<Parameters>(Resource(name + ".json"), options)!;
            named[name] = new NamedTemplate(name, template, parameters.Stop ?? []);
        }
        return (index, named.ToFrozenDictionary(StringComparer.Ordinal));
    }

    static string Resource(string file)
    {
        using var stream = typeof(OllamaNamedTemplates).Assembly.GetManifestResourceStream("Quanta.Templates.Ollama.Library." + file)
            ?? throw new InvalidOperationException("missing embedded template " + file);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
