using System.CommandLine;
using System.Text;
using Quanta.Cli.Interactive;
using Quanta.Store;
using Quanta.Templates.Ollama;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta run NAME|FILE.gguf [PROMPT...] [--verbose] [--format json] [--nowordwrap] [--think[=false]]
/// [--hidethinking] [--set NAME=VALUE]...</c>: <c>ollama run</c>. With a prompt (or text piped to stdin, which goes
/// before the prompt's words, as Ollama puts it), one answer and exit; on a terminal without one, an interactive
/// session (<see cref="RunSession"/>). The model is a model of the store, with everything its Modelfile says
/// (template, system message, parameters, messages), or a bare GGUF file.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("MODEL") { Description = "A model of the store (my-llama, team/llama:v1) or a GGUF file" };
        var prompt = new Argument<string[]>("PROMPT") { Description = "Answer this once and exit (words are joined by spaces)", Arity = ArgumentArity.ZeroOrMore };
        var format = new Option<string>("--format") { Description = "Response format (json)", HelpName = "json" };
        var noWordWrap = new Option<bool>("--nowordwrap") { Description = "Don't wrap words to the next line automatically" };
        var think = new Option<string>("--think")
        {
            Description = "Enable thinking (--think, --think=false, or a level: high, medium, low)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var hideThinking = new Option<bool>("--hidethinking") { Description = "Hide thinking output (if provided)" };
        var set = new Option<string[]>("--set")
        {
            Description = "Set a parameter for this run, as /set parameter does (repeatable), e.g. --set temperature=0",
            HelpName = "NAME=VALUE",
            AllowMultipleArgumentsPerToken = false,
        };
        var mmproj = new Option<string>("--mmproj") { Description = "A vision projector file (mmproj-*.gguf) for a text model: picture paths in the prompt are then shown to it", HelpName = "FILE" };
        var store = StoreArguments.StoreOption();
        var command = new Command("run", "Chat with a model, as ollama run does (--verbose prints the timings)")
        {
            model, prompt, format, noWordWrap, think, hideThinking, set, mmproj, store,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new RunOptions
            {
                WordWrap = !parseResult.GetValue(noWordWrap),
                Verbose = parseResult.GetValue(Cli.VerboseOption),
                HideThinking = parseResult.GetValue(hideThinking),
                Format = parseResult.GetValue(format) ?? "",
            };
            if (options.Format is not ("" or "json"))
            {
                throw new UserErrorException($"--format: unknown format '{options.Format}' (json is the one there is)");
            }
            var words = new List<string>(parseResult.GetValue(prompt) ?? []);
            if (parseResult.GetResult(think) is { } thinkGiven)
            {
                var value = thinkGiven.Tokens.Count > 0 ? thinkGiven.Tokens[0].Value : "";
                options.Think = ParseThink(value);
                if (!IsThinkValue(value))
                {
                    // As cobra parses Ollama's --think (a flag whose value needs '='): `--think "Why?"` is thinking on
                    // and a prompt, which the parser here took for the flag's value.
                    words.Insert(0, value);
                }
            }
            foreach (var assignment in parseResult.GetValue(set) ?? [])
            {
                var equals = assignment.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new UserErrorException($"--set {assignment}: expected NAME=VALUE, e.g. temperature=0.7");
                }
                try
                {
                    // A list (stop) gathers the values of every --set of its name.
                    var name = assignment[..equals];
                    var value = assignment[(equals + 1)..];
                    var values = options.Options.TryGetValue(name, out var known) && known is System.Text.Json.Nodes.JsonArray list
                        ? [.. list.Select(ModelParameters.TextOf), value]
                        : new List<string> { value };
                    options.SetParameter(name, values);
                }
                catch (FormatException e)
                {
                    throw new UserErrorException($"--set {assignment}: {e.Message}", e);
                }
            }
            Run(context, () => StoreArguments.Open(parseResult, store), parseResult.GetRequiredValue(model), parseResult.GetValue(mmproj), words, options, cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    static bool IsThinkValue(string value) => value is "" or "true" or "false" or "high" or "medium" or "low" or "max";

    /// <summary>Ollama's values of <c>--think</c>: none or true, false, or a level; anything else is a prompt (thinking on).</summary>
    static ThinkSetting ParseThink(string value) => value switch
    {
        "false" => ThinkSetting.FromBool(false),
        "high" or "medium" or "low" or "max" => ThinkSetting.FromLevel(value),
        _ => ThinkSetting.FromBool(true),
    };

    static void Run(CliContext context, Func<ModelStore> store, string name, string? projector, List<string> words, RunOptions options, CancellationToken cancellationToken)
    {
        var prompts = new List<string>(words);
        var interactive = context.InIsTerminal;
        if (context.InIsRedirected)
        {
            using var input = context.OpenStandardInput();
            using var reader = new StreamReader(input, Encoding.UTF8);
            var piped = reader.ReadToEnd();
            if (piped.Length > 0)
            {
                prompts.Insert(0, piped);
            }
            interactive = false;
        }
        if (prompts.Count > 0)
        {
            interactive = false;
        }

        using var loaded = RunModel.Load(store, name, options.Options, projector, cancellationToken);
        if (interactive)
        {
            using ILineReader lines = context.OutIsTerminal
                ? new TerminalLineEditor(context.Out, cancellationToken)
                : new PlainLineReader(Console.In, context.Out);
            var session = new RunSession(context, lines, store, loaded, options, cancellationToken, projector);
            try
            {
                session.Run();
            }
            finally
            {
                if (!ReferenceEquals(session.Model, loaded))
                {
                    session.Model.Dispose();
                }
            }
            return;
        }

        var text = string.Join(' ', prompts);
        if (text.Length == 0)
        {
            // As Ollama: no prompt only loads the model.
            return;
        }
        options.Messages.Add(PromptImages.UserMessage(text, loaded.Model, context.Error));
        var result = RunAnswer.Write(context, loaded, options, cancellationToken);
        context.Out.WriteLine();
        context.Out.WriteLine();
        context.Out.Flush();
        if (options.Verbose)
        {
            RunAnswer.WriteStatistics(context.Error, result.Statistics);
        }
    }
}
