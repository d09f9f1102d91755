using System.Text;
using System.Text.Json;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;

namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// A chat template as gguf-py writes it: one string under <c>tokenizer.chat_template</c>, or a list of named
/// templates, where "default" goes to <c>tokenizer.chat_template</c> and each other name to
/// <c>tokenizer.chat_template.NAME</c>, listed in <c>tokenizer.chat_templates</c>.
/// </summary>
internal sealed class ChatTemplate
{
    ChatTemplate(string? single, IReadOnlyList<(string Name, string Template)> named)
    {
        Single = single;
        Named = named;
    }

    public string? Single { get; }
    public IReadOnlyList<(string Name, string Template)> Named { get; }

    public static ChatTemplate Of(string template) => new(template, []);

    /// <summary>The <c>chat_template</c> field: a string, a list of {name, template}, or anything else = none.</summary>
    public static ChatTemplate? FromJson(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return Of(value.GetString()!);
            case JsonValueKind.Array:
                var named = new List<(string, string)>();
                foreach (var item in value.EnumerateArray())
                {
                    if (JsonFields.OptionalString(item, "template") is { } template)
                    {
                        named.Add((JsonFields.OptionalString(item, "name") ?? "", template));
                    }
                }
                return new ChatTemplate(null, named);
            default:
                return null; // gguf-py: "Bad type for chat_template field" – ignored.
        }
    }

    /// <summary>
    /// <c>chat_template.jinja</c> (with <c>additional_chat_templates/*.jinja</c>, newer transformers) or else
    /// <c>chat_template.json</c>; used only when tokenizer_config.json has no <c>chat_template</c> field.
    /// </summary>
    public static ChatTemplate? FromSideFiles(string directory)
    {
        var jinja = Path.Combine(directory, "chat_template.jinja");
        if (File.Exists(jinja))
        {
            var template = File.ReadAllText(jinja, Encoding.UTF8);
            var extra = Path.Combine(directory, "additional_chat_templates");
            var others = Directory.Exists(extra)
                // Sorted: the file system's order is not stable across machines, and output must be deterministic.
                ? Directory.GetFiles(extra, "*.jinja").Order(StringComparer.Ordinal).ToArray()
                : [];
            if (others.Length == 0)
            {
                return Of(template);
            }
            var named = new List<(string, string)> { ("default", template) };
            named.AddRange(others.Select(f => (Path.GetFileNameWithoutExtension(f), File.ReadAllText(f, Encoding.UTF8))));
            return new ChatTemplate(null, named);
        }
        var json = Path.Combine(directory, "chat_template.json");
        if (File.Exists(json))
        {
            using var document = JsonFields.Load(json);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("chat_template", out var value)
                ? FromJson(value)
                : null;
        }
        return null;
    }

    public void AddTo(GgufMetadata keys)
    {
        if (Single is not null)
        {
            keys.Add(TokenizerKeys.ChatTemplate, GgufValue.String(Single));
            return;
        }
        string? fallback = null;
        var names = new List<string>();
        foreach (var (rawName, template) in Named)
        {
            // gguf-py replaces anything but ASCII letters and digits in a name with '_'.
            var name = string.Concat(rawName.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));
            if (name.Length == 0)
            {
                continue;
            }
            if (name == "default")
            {
                fallback = template;
            }
            else if (!names.Contains(name))
            {
                names.Add(name);
                keys.Add($"{TokenizerKeys.ChatTemplate}.{name}", GgufValue.String(template));
            }
        }
        if (names.Count > 0)
        {
            keys.Add(TokenizerKeys.ChatTemplates, GgufValue.Array(GgufArray.Of(names.ToArray())));
        }
        if (fallback is not null)
        {
            keys.Add(TokenizerKeys.ChatTemplate, GgufValue.String(fallback));
        }
    }
}
