using System.Collections.Frozen;

namespace Quanta.Templates.Go;

/// <summary>
/// A parsed Go <c>text/template</c>: the top-level tree and every tree <c>{{define}}</c> or <c>{{block}}</c> added,
/// exactly as Go's <c>template.New(name).Funcs(...).Parse(text)</c> builds them.
/// </summary>
public sealed class GoTemplate
{
    GoTemplate(string name, string text, IReadOnlyDictionary<string, ListNode> trees)
    {
        Name = name;
        Text = text;
        Trees = trees;
    }

    /// <summary>The functions every Go template knows (text/template's <c>builtins</c>).</summary>
    public static IReadOnlySet<string> BuiltinFunctionNames { get; } = new[]
    {
        "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println", "urlquery",
        "eq", "ge", "gt", "le", "lt", "ne",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The name of the top-level template (Ollama uses the empty name).</summary>
    public string Name { get; }

    /// <summary>The text the template was parsed from.</summary>
    public string Text { get; }

    /// <summary>Every tree by name: the top-level one under <see cref="Name"/>, plus the defined ones.</summary>
    public IReadOnlyDictionary<string, ListNode> Trees { get; }

    /// <summary>The top-level tree.</summary>
    public ListNode Root => Trees[Name];

    /// <summary>
    /// The same template with another top-level tree, as Go's <c>AddParseTree</c> builds it: with the defined trees
    /// (<paramref name="keepDefinitions"/>) or, like a fresh <c>template.New("")</c>, without them. Ollama rewrites
    /// a TEMPLATE's tree this way (appending <c>{{ .Response }}</c>, cutting the last turn at it).
    /// </summary>
    internal GoTemplate WithRoot(ListNode root, bool keepDefinitions)
    {
        var trees = keepDefinitions ? new Dictionary<string, ListNode>(Trees, StringComparer.Ordinal) : new Dictionary<string, ListNode>(StringComparer.Ordinal);
        trees[Name] = root;
        return new GoTemplate(Name, Text, trees);
    }

    /// <summary>
    /// Executes the template over <paramref name="data"/> as Go's <c>Execute</c> does with <c>missingkey=zero</c>:
    /// dictionaries are Go maps, lists are slices, other objects are structs whose public properties are fields.
    /// <paramref name="functions"/> come before the built-ins of the same name, as in Go.
    /// </summary>
    /// <exception cref="TemplateException">Execution failed; the message is Go's.</exception>
    public string Render(object? data, IReadOnlyDictionary<string, TemplateFunction>? functions = null)
    {
        var all = new Dictionary<string, TemplateFunction>(BuiltinFunctions.All, StringComparer.Ordinal);
        foreach (var (name, function) in functions ?? new Dictionary<string, TemplateFunction>())
        {
            all[name] = function;
        }
        return Renderer.Render(this, all, data);
    }

    /// <summary>
    /// Parses <paramref name="text"/> as Go does, knowing the built-in functions plus <paramref name="functions"/>
    /// (a call to any other name is an error, as in Go).
    /// </summary>
    /// <exception cref="TemplateException">Not a valid template; the message is Go's, with the line.</exception>
    public static GoTemplate Parse(string text, IEnumerable<string>? functions = null, string name = "")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(name);
        var known = new HashSet<string>(BuiltinFunctionNames, StringComparer.Ordinal);
        if (functions is not null)
        {
            known.UnionWith(functions);
        }
        return new GoTemplate(name, text, Parser.Parse(text, name, known));
    }
}
