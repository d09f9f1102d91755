using Quanta.Inference.Chat;
using Quanta.Store;
using Quanta.Templates.Ollama;

namespace Quanta.Cli.Interactive;

/// <summary>
/// The interactive session of <c>quanta run</c>, as <c>ollama run</c>'s (cmd/interactive.go,
/// <c>generateInteractive</c>): messages after <c>&gt;&gt;&gt; </c>, <c>"""</c> around a multi-line message, and the
/// commands <c>/set</c>, <c>/show</c>, <c>/load</c>, <c>/save</c>, <c>/clear</c>, <c>/bye</c>, <c>/?</c>, with Ollama's
/// replies. Ctrl+C stops an answer and keeps the session; Ctrl+D (or the end of input) ends it.
/// </summary>
/// <param name="commandLineProjector"><c>--mmproj</c>: <c>/load</c> keeps it for a model without a projector of its own when it fits.</param>
internal sealed class RunSession(CliContext context, ILineReader reader, Func<ModelStore> store, RunModel model, RunOptions options, CancellationToken stop,
    string? commandLineProjector = null)
{
    enum Multiline
    {
        None,
        Prompt,
        System,
    }

    RunModel _model = model;

    TextWriter Out => context.Out;

    TextWriter Err => context.Error;

    /// <summary>The model in use (another after <c>/load</c>); the caller disposes it.</summary>
    public RunModel Model => _model;

    /// <summary>Runs until <c>/bye</c>, Ctrl+D or the end of input.</summary>
    public void Run()
    {
        ShowLoadedMessages();
        var sb = new System.Text.StringBuilder();
        var multiline = Multiline.None;
        var continuation = false;
        while (true)
        {
            stop.ThrowIfCancellationRequested();
            var input = reader.ReadLine(continuation);
            if (input.Status == LineStatus.EndOfFile)
            {
                Out.WriteLine();
                return;
            }
            if (input.Status == LineStatus.Interrupt)
            {
                Out.WriteLine("\nUse Ctrl + d or /bye to exit.");
                continuation = false;
                multiline = Multiline.None;
                sb.Clear();
                continue;
            }
            var line = input.Text;
            if (multiline != Multiline.None)
            {
                var ended = line.EndsWith("\"\"\"", StringComparison.Ordinal);
                sb.Append(ended ? line[..^3] : line);
                if (!ended)
                {
                    sb.Append('\n');
                    continuation = true;
                    continue;
                }
                if (multiline == Multiline.System)
                {
                    options.System = sb.ToString();
                    options.Messages.Add(new PromptMessage("system", options.System));
                    Out.WriteLine("Set system message.");
                    sb.Clear();
                }
                multiline = Multiline.None;
                continuation = false;
            }
            else if (line.StartsWith("\"\"\"", StringComparison.Ordinal))
            {
                var text = line[3..];
                var ended = text.EndsWith("\"\"\"", StringComparison.Ordinal);
                sb.Append(ended ? text[..^3] : text);
                if (!ended)
                {
                    sb.Append('\n');
                    multiline = Multiline.Prompt;
                    continuation = true;
                }
            }
            else if (line.StartsWith("/load", StringComparison.Ordinal))
            {
                Load(Fields(line));
                continue;
            }
            else if (line.StartsWith("/save", StringComparison.Ordinal))
            {
                Save(Fields(line));
                continue;
            }
            else if (line.StartsWith("/clear", StringComparison.Ordinal))
            {
                options.Messages.Clear();
                if (options.System.Length > 0)
                {
                    options.Messages.Add(new PromptMessage("system", options.System));
                }
                Out.WriteLine("Cleared session context");
                continue;
            }
            else if (line.StartsWith("/set", StringComparison.Ordinal))
            {
                var args = Fields(line);
                if (args.Length > 1 && args[1] == "system" && args.Length > 2)
                {
                    // /set system keeps the text after the word as typed (spaces joined, as Ollama joins the fields).
                    var text = string.Join(' ', args[2..]);
                    multiline = Multiline.System;
                    if (text.StartsWith("\"\"\"", StringComparison.Ordinal))
                    {
                        text = text[3..];
                        if (text.EndsWith("\"\"\"", StringComparison.Ordinal))
                        {
                            text = text[..^3];
                            multiline = Multiline.None;
                        }
                    }
                    else
                    {
                        multiline = Multiline.None;
                    }
                    sb.Append(text);
                    if (multiline != Multiline.None)
                    {
                        sb.Append('\n');
                        continuation = true;
                        continue;
                    }
                    SetSystem(sb.ToString());
                    sb.Clear();
                    continue;
                }
                Set(args);
                continue;
            }
            else if (line.StartsWith("/show", StringComparison.Ordinal))
            {
                Show(Fields(line));
                continue;
            }
            else if (line.StartsWith("/help", StringComparison.Ordinal) || line.StartsWith("/?", StringComparison.Ordinal))
            {
                var args = Fields(line);
                if (args.Length > 1)
                {
                    switch (args[1])
                    {
                        case "set" or "/set":
                            UsageSet();
                            break;
                        case "show" or "/show":
                            UsageShow();
                            break;
                        case "shortcut" or "shortcuts":
                            UsageShortcuts();
                            break;
                    }
                }
                else
                {
                    Usage();
                }
                continue;
            }
            else if (line.StartsWith("/exit", StringComparison.Ordinal) || line.StartsWith("/bye", StringComparison.Ordinal))
            {
                return;
            }
            else if (line.StartsWith('/'))
            {
                Out.WriteLine($"Unknown command '{Fields(line)[0]}'. Type /? for help");
                continue;
            }
            else
            {
                sb.Append(line);
            }

            if (sb.Length > 0 && multiline == Multiline.None)
            {
                options.Messages.Add(PromptImages.UserMessage(sb.ToString(), Model.Model, context.Error));
                sb.Clear();
                Chat();
            }
        }
    }

    /// <summary>One answer; Ctrl+C stops it (the question stays in the conversation, as in Ollama; the answer does not).</summary>
    void Chat()
    {
        using var answer = CancellationTokenSource.CreateLinkedTokenSource(stop);
        ChatResult result;
        try
        {
            using (reader.WatchInterrupt(answer.Cancel))
            {
                result = RunAnswer.Write(context, _model, options, answer.Token);
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            Out.WriteLine();
            return;
        }
        catch (UserErrorException e)
        {
            // A question the model cannot take (longer than the context): it is dropped, the session goes on.
            options.Messages.RemoveAt(options.Messages.Count - 1);
            Err.WriteLine($"error: {e.Message}");
            return;
        }
        Out.WriteLine();
        Out.WriteLine();
        if (options.Verbose)
        {
            RunAnswer.WriteStatistics(Err, result.Statistics);
        }
        options.Messages.Add(new PromptMessage("assistant", result.Content) { Thinking = result.Thinking });
    }

    void ShowLoadedMessages()
    {
        foreach (var message in _model.Session.Messages)
        {
            switch (message.Role)
            {
                case "user":
                    Out.WriteLine($">>> {message.Content}");
                    break;
                case "assistant":
                    new WordWrapWriter(Out, options.WordWrap && context.OutIsTerminal, AnswerPrinter.TerminalWidth).Write(message.Content);
                    Out.WriteLine();
                    Out.WriteLine();
                    break;
            }
        }
    }

    void SetSystem(string text)
    {
        options.System = text;
        var message = new PromptMessage("system", text);
        if (options.Messages.Count > 0 && options.Messages[^1].Role == "system")
        {
            options.Messages[^1] = message;
        }
        else
        {
            options.Messages.Add(message);
        }
        Out.WriteLine("Set system message.");
    }

    void Set(string[] args)
    {
        if (args.Length < 2)
        {
            UsageSet();
            return;
        }
        switch (args[1])
        {
            case "history":
                reader.HistoryEnabled = true;
                break;
            case "nohistory":
                reader.HistoryEnabled = false;
                break;
            case "wordwrap":
                options.WordWrap = true;
                Out.WriteLine("Set 'wordwrap' mode.");
                break;
            case "nowordwrap":
                options.WordWrap = false;
                Out.WriteLine("Set 'nowordwrap' mode.");
                break;
            case "verbose":
                options.Verbose = true;
                Out.WriteLine("Set 'verbose' mode.");
                break;
            case "quiet":
                options.Verbose = false;
                Out.WriteLine("Set 'quiet' mode.");
                break;
            case "think":
                options.Think = args.Length > 2 ? ThinkSetting.FromLevel(args[2]) : ThinkSetting.FromBool(true);
                Out.WriteLine(args.Length > 2 ? $"Set 'think' mode to '{args[2]}'." : "Set 'think' mode.");
                break;
            case "nothink":
                options.Think = ThinkSetting.FromBool(false);
                Out.WriteLine("Set 'nothink' mode.");
                break;
            case "format":
                if (args.Length < 3 || args[2] != "json")
                {
                    Out.WriteLine("Invalid or missing format. For 'json' mode use '/set format json'");
                }
                else
                {
                    options.Format = "json";
                    Out.WriteLine("Set format to 'json' mode.");
                }
                break;
            case "noformat":
                options.Format = "";
                Out.WriteLine("Disabled format.");
                break;
            case "parameter":
                if (args.Length < 4)
                {
                    UsageParameters();
                    return;
                }
                try
                {
                    options.SetParameter(args[2], args[3..]);
                    Out.WriteLine($"Set parameter '{args[2]}' to '{string.Join(", ", args[3..])}'");
                }
                catch (FormatException e)
                {
                    Out.WriteLine($"Couldn't set parameter: {Quanta.Templates.Go.GoQuoting.Quote(e.Message)}");
                }
                break;
            case "system":
                UsageSet();
                break;
            default:
                Out.WriteLine($"Unknown command '/set {args[1]}'. Type /? for help");
                break;
        }
    }

    void Show(string[] args)
    {
        if (args.Length < 2)
        {
            UsageShow();
            return;
        }
        var stored = _model.Stored;
        switch (args[1])
        {
            case "info":
                RunShow.Info(Err, _model);
                break;
            case "license":
                Out.WriteLine(stored is { Licenses.Count: > 0 } ? string.Join("\n", stored.Licenses) : "No license was specified for this model.");
                break;
            case "modelfile":
                Out.WriteLine(RunShow.Modelfile(_model, options));
                break;
            case "parameters":
                RunShow.Parameters(Out, _model, options);
                break;
            case "system":
                if (options.System.Length > 0)
                {
                    Out.WriteLine(options.System + "\n");
                }
                else if (_model.Session.System.Length > 0)
                {
                    Out.WriteLine(_model.Session.System + "\n");
                }
                else
                {
                    Out.WriteLine("No system message was specified for this model.");
                }
                break;
            case "template":
                var template = stored?.Template ?? _model.Model.ChatTemplate;
                Out.WriteLine(string.IsNullOrEmpty(template) ? "No prompt template was specified for this model." : template);
                break;
            default:
                Out.WriteLine($"Unknown command '/show {args[1]}'. Type /? for help");
                break;
        }
    }

    void Load(string[] args)
    {
        if (args.Length != 2)
        {
            Out.WriteLine("Usage:\n  /load <modelname>");
            return;
        }
        Out.WriteLine($"Loading model '{args[1]}'");
        RunModel loaded;
        try
        {
            loaded = RunModel.LoadInSession(store, args[1], options.Options, commandLineProjector,
                reason => Err.WriteLine($"warning: --mmproj does not fit '{args[1]}', pictures are off: {reason}"), stop);
        }
        catch (Exception e) when (e is ModelNotFoundException or FileNotFoundException || (e is UserErrorException && !RunModel.IsFile(args[1])))
        {
            Out.WriteLine($"Couldn't find model '{args[1]}'");
            return;
        }
        catch (Exception e) when (e is UserErrorException or Formats.FileFormatException or StoreException or FormatException or Templates.Go.TemplateException or Templates.Jinja.JinjaException)
        {
            Out.WriteLine($"error: {e.Message}");
            return;
        }
        _model.Dispose();
        _model = loaded;
        options.Messages.Clear();
        ShowLoadedMessages();
    }

    void Save(string[] args)
    {
        if (args.Length != 2)
        {
            Out.WriteLine("Usage:\n  /save <modelname>");
            return;
        }
        if (!ModelName.TryParse(args[1], out var name) || name is null)
        {
            Out.WriteLine($"error: The model name '{args[1]}' is invalid");
            return;
        }
        var modelStore = store();
        var modelfile = Modelfile.Parse(RunShow.SaveModelfile(_model, options));
        ModelCreator.Create(modelStore, name, modelfile, Directory.GetCurrentDirectory(), CreateOptions.Default, stop);
        Out.WriteLine($"Created new model '{args[1]}'");
    }

    static string[] Fields(string line) => line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    void Usage()
    {
        Err.WriteLine("Available Commands:");
        Err.WriteLine("  /set            Set session variables");
        Err.WriteLine("  /show           Show model information");
        Err.WriteLine("  /load <model>   Load a session or model");
        Err.WriteLine("  /save <model>   Save your current session");
        Err.WriteLine("  /clear          Clear session context");
        Err.WriteLine("  /bye            Exit");
        Err.WriteLine("  /?, /help       Help for a command");
        Err.WriteLine("  /? shortcuts    Help for keyboard shortcuts");
        Err.WriteLine("");
        Err.WriteLine("Use \"\"\" to begin a multi-line message.");
        Err.WriteLine("");
    }

    void UsageSet()
    {
        Err.WriteLine("Available Commands:");
        Err.WriteLine("  /set parameter ...     Set a parameter");
        Err.WriteLine("  /set system <string>   Set system message");
        Err.WriteLine("  /set history           Enable history");
        Err.WriteLine("  /set nohistory         Disable history");
        Err.WriteLine("  /set wordwrap          Enable wordwrap");
        Err.WriteLine("  /set nowordwrap        Disable wordwrap");
        Err.WriteLine("  /set format json       Enable JSON mode");
        Err.WriteLine("  /set noformat          Disable formatting");
        Err.WriteLine("  /set verbose           Show LLM stats");
        Err.WriteLine("  /set quiet             Disable LLM stats");
        Err.WriteLine("  /set think             Enable thinking");
        Err.WriteLine("  /set nothink           Disable thinking");
        Err.WriteLine("");
    }

    void UsageShortcuts()
    {
        Err.WriteLine("Available keyboard shortcuts:");
        Err.WriteLine("  Ctrl + a            Move to the beginning of the line (Home)");
        Err.WriteLine("  Ctrl + e            Move to the end of the line (End)");
        Err.WriteLine("   Alt + b            Move back (left) one word");
        Err.WriteLine("   Alt + f            Move forward (right) one word");
        Err.WriteLine("  Ctrl + k            Delete the sentence after the cursor");
        Err.WriteLine("  Ctrl + u            Delete the sentence before the cursor");
        Err.WriteLine("  Ctrl + w            Delete the word before the cursor");
        Err.WriteLine("");
        Err.WriteLine("  Ctrl + l            Clear the screen");
        Err.WriteLine("  Ctrl + c            Stop the model from responding");
        Err.WriteLine("  Ctrl + d            Exit quanta (/bye)");
        Err.WriteLine("");
    }

    void UsageShow()
    {
        Err.WriteLine("Available Commands:");
        Err.WriteLine("  /show info         Show details for this model");
        Err.WriteLine("  /show license      Show model license");
        Err.WriteLine("  /show modelfile    Show Modelfile for this model");
        Err.WriteLine("  /show parameters   Show parameters for this model");
        Err.WriteLine("  /show system       Show system message");
        Err.WriteLine("  /show template     Show prompt template");
        Err.WriteLine("");
    }

    void UsageParameters()
    {
        Err.WriteLine("Available Parameters:");
        Err.WriteLine("  /set parameter seed <int>             Random number seed");
        Err.WriteLine("  /set parameter num_predict <int>      Max number of tokens to predict");
        Err.WriteLine("  /set parameter top_k <int>            Pick from top k num of tokens");
        Err.WriteLine("  /set parameter top_p <float>          Pick token based on sum of probabilities");
        Err.WriteLine("  /set parameter min_p <float>          Pick token based on top token probability * min_p");
        Err.WriteLine("  /set parameter num_ctx <int>          Set the context size");
        Err.WriteLine("  /set parameter temperature <float>    Set creativity level");
        Err.WriteLine("  /set parameter repeat_penalty <float> How strongly to penalize repetitions");
        Err.WriteLine("  /set parameter repeat_last_n <int>    Set how far back to look for repetitions");
        Err.WriteLine("  /set parameter stop <string> <string> ...   Set the stop parameters");
        Err.WriteLine("");
    }
}
