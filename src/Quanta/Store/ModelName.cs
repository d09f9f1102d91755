namespace Quanta.Store;

/// <summary>
/// A model's name as Ollama parses it: <c>[host/][namespace/]model[:tag]</c>, with the defaults
/// <c>registry.ollama.ai</c>, <c>library</c> and <c>latest</c>. Each part is checked against Ollama's rules
/// (types/model/name.go): host up to 350 characters of <c>[A-Za-z0-9_][A-Za-z0-9_.:-]*</c>, namespace up to 80
/// of <c>[A-Za-z0-9_][A-Za-z0-9_-]*</c>, model and tag up to 80 of <c>[A-Za-z0-9_][A-Za-z0-9_.-]*</c>. No part
/// can be empty, <c>.</c>, <c>..</c> or hold a path separator, so a name's manifest path always stays inside
/// the store.
/// </summary>
public sealed record ModelName(string Host, string Namespace, string Model, string Tag)
{
    public const string DefaultHost = "registry.ollama.ai";
    public const string DefaultNamespace = "library";
    public const string DefaultTag = "latest";

    /// <exception cref="FormatException">Not a valid name; the message says which part and why.</exception>
    public static ModelName Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text;
        if (s.StartsWith("https://", StringComparison.Ordinal))
        {
            s = s["https://".Length..];
        }
        else if (s.StartsWith("http://", StringComparison.Ordinal))
        {
            s = s["http://".Length..];
        }
        if (s.Length == 0)
        {
            throw Invalid(text, "the name is empty");
        }
        if (s.Contains('@', StringComparison.Ordinal))
        {
            throw Invalid(text, "digests ('@sha256-...') are not part of a model name here");
        }
        if (s.Contains('+', StringComparison.Ordinal))
        {
            throw Invalid(text, "'+' is not allowed in a model name");
        }
        var slash = s.LastIndexOf('/');
        var last = s[(slash + 1)..];
        var head = slash < 0 ? null : s[..slash];
        string model, tag;
        var colon = last.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            (model, tag) = (last, DefaultTag);
        }
        else
        {
            (model, tag) = (last[..colon], last[(colon + 1)..]);
            if (tag.Length == 0)
            {
                throw Invalid(text, "the tag after ':' is empty");
            }
        }
        string host = DefaultHost, ns = DefaultNamespace;
        if (head is not null)
        {
            var parts = head.Split('/');
            switch (parts.Length)
            {
                case 1:
                    ns = parts[0];
                    break;
                case 2:
                    (host, ns) = (parts[0], parts[1]);
                    break;
                default:
                    throw Invalid(text, "expected at most [host/][namespace/]model[:tag]");
            }
        }
        Check(text, "host", host, 350, allowDot: true, allowColon: true);
        Check(text, "namespace", ns, 80, allowDot: false, allowColon: false);
        Check(text, "model", model, 80, allowDot: true, allowColon: false);
        Check(text, "tag", tag, 80, allowDot: true, allowColon: false);
        return new ModelName(host, ns, model, tag);
    }

    public static bool TryParse(string text, out ModelName? name)
    {
        try
        {
            name = Parse(text);
            return true;
        }
        catch (FormatException)
        {
            name = null;
            return false;
        }
    }

    static void Check(string text, string part, string value, int maxLength, bool allowDot, bool allowColon)
    {
        if (value.Length == 0)
        {
            throw Invalid(text, $"the {part} is empty");
        }
        if (value.Length > maxLength)
        {
            throw Invalid(text, $"the {part} is longer than {maxLength} characters");
        }
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var ok = char.IsAsciiLetterOrDigit(c) || c == '_'
                || i > 0 && (c == '-' || allowDot && c == '.' || allowColon && c == ':');
            if (!ok)
            {
                var what = i == 0 ? $"must start with a letter, digit or '_', not '{c}'" : $"may not contain '{c}'";
                throw Invalid(text, $"the {part} '{value}' {what}");
            }
        }
    }

    static FormatException Invalid(string text, string why) => new($"invalid model name '{text}': {why}");

    /// <summary>The manifest's path below <c>manifests/</c>: host, namespace, model, tag.</summary>
    public string[] PathParts => [Host, Namespace, Model, Tag];

    /// <summary>
    /// The shortest form that parses back to this name, as Ollama displays it: <c>model:tag</c> in the default
    /// namespace, <c>namespace/model:tag</c> on the default host, otherwise everything.
    /// </summary>
    public string DisplayShortest
    {
        get
        {
            if (Host.Equals(DefaultHost, StringComparison.OrdinalIgnoreCase))
            {
                return Namespace.Equals(DefaultNamespace, StringComparison.OrdinalIgnoreCase)
                    ? $"{Model}:{Tag}"
                    : $"{Namespace}/{Model}:{Tag}";
            }
            return ToString();
        }
    }

    public override string ToString() => $"{Host}/{Namespace}/{Model}:{Tag}";

    /// <summary>Ollama compares names ignoring case.</summary>
    public bool EqualsIgnoringCase(ModelName other) =>
        other is not null
        && Host.Equals(other.Host, StringComparison.OrdinalIgnoreCase)
        && Namespace.Equals(other.Namespace, StringComparison.OrdinalIgnoreCase)
        && Model.Equals(other.Model, StringComparison.OrdinalIgnoreCase)
        && Tag.Equals(other.Tag, StringComparison.OrdinalIgnoreCase);
}
