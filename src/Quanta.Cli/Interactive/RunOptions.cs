using System.Text.Json.Nodes;
using Quanta.Inference.Chat;
using Quanta.Store;
using Quanta.Templates.Ollama;

namespace Quanta.Cli.Interactive;

/// <summary>
/// What a <c>quanta run</c> session holds besides the model, as <c>ollama run</c>'s <c>runOptions</c>: the conversation,
/// the system message set with <c>/set system</c>, the options set with <c>/set parameter</c> or <c>--set</c> (sent with
/// every request, over the model's parameters), the display switches, the format and the thinking setting.
/// </summary>
internal sealed class RunOptions
{
    public List<PromptMessage> Messages { get; } = [];

    /// <summary>The system message of <c>/set system</c> (empty: the model's).</summary>
    public string System { get; set; } = "";

    /// <summary>The <c>/set parameter</c> and <c>--set</c> values, typed as Ollama types them.</summary>
    public ModelParameters Options { get; set; } = new();

    public bool WordWrap { get; set; } = true;

    public bool Verbose { get; set; }

    /// <summary><c>json</c>, or empty.</summary>
    public string Format { get; set; } = "";

    public ThinkSetting? Think { get; set; }

    public bool HideThinking { get; set; }

    /// <summary>
    /// Sets one parameter as <c>/set parameter NAME VALUE...</c> does (Ollama's <c>FormatParams</c>): the values are
    /// typed by the parameter's kind, a list takes all of them and replaces the list set before.
    /// </summary>
    /// <exception cref="FormatException">Unknown name or a value of the wrong type (Ollama's message).</exception>
    public void SetParameter(string name, IReadOnlyList<string> values)
    {
        if (ModelParameters.Deprecated.Contains(name))
        {
            throw new FormatException($"parameter '{name}' is deprecated");
        }
        var typed = new ModelParameters();
        foreach (var value in values)
        {
            typed.Add(name, value);
        }
        Options.Set(name, typed[name]);
    }

    /// <summary>The request for the conversation so far.</summary>
    public ChatRequest Request() => new([.. Messages])
    {
        Options = RunModel.Options(Options),
        Think = Think,
        // As ollama run sends it: the format as a JSON string.
        Format = Format.Length == 0 ? null : "\"" + Format + "\"",
    };

    /// <summary>The session's options as <c>%v</c> prints them, for <c>/show parameters</c>.</summary>
    public IEnumerable<(string Name, string Value)> OptionLines() =>
        Options.Names.Select(name => (name, Options[name] is JsonArray array
            ? "[" + string.Join(' ', array.Select(ModelParameters.TextOf)) + "]"
            : ModelParameters.TextOf(Options[name])));
}
