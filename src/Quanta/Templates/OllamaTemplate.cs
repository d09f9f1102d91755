using System.Collections.Frozen;
using System.Globalization;
using Quanta.Templates.Go;

namespace Quanta.Templates;

/// <summary>
/// Ollama's rules for a TEMPLATE (its <c>template/template.go</c>): a Go text/template with Ollama's extra functions,
/// parsed as <c>template.Parse</c> does, including the walk over the tree that refuses a <c>{{template}}</c> call
/// without a pipeline.
/// </summary>
public static class OllamaTemplate
{
    /// <summary>
    /// The functions Ollama adds to Go's built-ins. <c>toTypeScriptType</c> reads a tool parameter
    /// (<see cref="Ollama.PromptToolProperty"/>) and gives "any" for any other value, as Ollama's does.
    /// </summary>
    public static IReadOnlyDictionary<string, TemplateFunction> Functions { get; } = new Dictionary<string, TemplateFunction>(StringComparer.Ordinal)
    {
        ["json"] = new(a => GoJson.Marshal(a[0]) ?? "", [ParameterKind.Any]),
        ["currentDate"] = new(_ => DateTime.Now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), [], ParameterKind.String),
        ["yesterdayDate"] = new(_ => DateTime.Now.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), [], ParameterKind.String),
        ["toTypeScriptType"] = new(a => a[0] is Ollama.PromptToolProperty property ? property.ToTypeScriptType() : "any", [ParameterKind.Any]),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Parses a TEMPLATE as Ollama does at <c>create</c>.</summary>
    /// <exception cref="TemplateException">Ollama would refuse the template; the message is its error.</exception>
    public static GoTemplate Parse(string text)
    {
        var template = GoTemplate.Parse(text, Functions.Keys);
        Variables(template);
        return template;
    }

    /// <summary>Executes a template parsed by <see cref="Parse"/> over <paramref name="data"/>, with Ollama's functions.</summary>
    /// <exception cref="TemplateException">Execution failed; the message is Go's.</exception>
    public static string Render(GoTemplate template, object? data)
    {
        ArgumentNullException.ThrowIfNull(template);
        return template.Render(data, Functions);
    }

    /// <summary>
    /// Ollama's <c>Template.Vars</c>: the field and variable names the template reads, lower-cased and sorted
    /// (<c>messages</c>, <c>prompt</c>, <c>response</c> ... decide how Ollama renders it).
    /// </summary>
    /// <exception cref="TemplateException">A <c>{{template "name"}}</c> without a pipeline, which Ollama refuses.</exception>
    public static IReadOnlyList<string> Variables(GoTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var names = new List<string>();
        foreach (var tree in template.Trees.Values)
        {
            foreach (var node in tree.Nodes)
            {
                Identifiers(node, names);
            }
        }
        return [.. names.Select(n => n.ToLowerInvariant()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>Ollama's <c>Identifiers</c> walk: lists and branches, pipelines and their arguments, not chains.</summary>
    static void Identifiers(Node node, List<string> names)
    {
        switch (node)
        {
            case ListNode list:
                foreach (var child in list.Nodes)
                {
                    Identifiers(child, names);
                }
                break;
            case TemplateNode call:
                Identifiers(call.Pipe ?? throw new TemplateException("undefined template specified"), names);
                break;
            case ActionNode action:
                Identifiers(action.Pipe, names);
                break;
            case BranchNode branch:
                Identifiers(branch.Pipe, names);
                Identifiers(branch.List, names);
                if (branch.ElseList is not null)
                {
                    Identifiers(branch.ElseList, names);
                }
                break;
            case PipeNode pipe:
                foreach (var argument in pipe.Commands.SelectMany(c => c.Arguments))
                {
                    Identifiers(argument, names);
                }
                break;
            case FieldNode field:
                names.AddRange(field.Ident);
                break;
            case VariableNode variable:
                names.AddRange(variable.Ident);
                break;
        }
    }
}
