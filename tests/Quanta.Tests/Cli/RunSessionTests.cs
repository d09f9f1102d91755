using Quanta.Cli;
using Quanta.Cli.Interactive;
using Quanta.Store;
using Quanta.Tests.Inference.Chat;

namespace Quanta.Tests.Cli;

/// <summary>
/// The interactive session's commands and replies, word for word as <c>ollama run</c>'s (cmd/interactive.go), driven
/// in-process by a script of lines (the terminal itself is covered by <see cref="RunSeedPathTests"/>).
/// </summary>
[Collection(DemoChatModelCollection.Name)]
public sealed class RunSessionTests(DemoChatModel demo)
{
    /// <summary>Lines typed at the prompt, in order; then the end of input (Ctrl+D).</summary>
    internal sealed class ScriptedLines(params string[] lines) : ILineReader
    {
        readonly Queue<string> _lines = new(lines);

        public List<bool> Prompts { get; } = [];

        public bool HistoryEnabled { get; set; } = true;

        public LineInput ReadLine(bool continuation)
        {
            Prompts.Add(continuation);
            if (_lines.Count == 0)
            {
                return new LineInput(LineStatus.EndOfFile, "");
            }
            var line = _lines.Dequeue();
            return line == "^C" ? new LineInput(LineStatus.Interrupt, "") : new LineInput(LineStatus.Line, line);
        }

        public IDisposable WatchInterrupt(Action onInterrupt) => new NoWatch();

        public void Dispose()
        {
        }

        sealed class NoWatch : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }

    (string Out, string Error, RunOptions Options, ScriptedLines Lines) Session(string? store, params string[] lines)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr);
        var options = new RunOptions();
        options.SetParameter("num_predict", ["3"]);
        options.SetParameter("temperature", ["0"]);
        var reader = new ScriptedLines(lines);
        var storeRoot = store ?? Path.Combine(Path.GetTempPath(), "quanta-no-store");
        var model = RunModel.Load(() => new ModelStore(storeRoot), demo.Path, options.Options, CancellationToken.None);
        var session = new RunSession(context, reader, () => new ModelStore(storeRoot), model, options, CancellationToken.None);
        try
        {
            session.Run();
        }
        finally
        {
            session.Model.Dispose();
        }
        return (stdout.ToString(), stderr.ToString(), options, reader);
    }

    [Fact]
    public void Commands_answer_as_ollama_s_do()
    {
        var (output, error, options, lines) = Session(null,
            "/set system You are terse.",
            "/show system",
            "/set verbose",
            "/set quiet",
            "/set format xml",
            "/set parameter top_k",
            "/set parameter top_k x",
            "/set parameter stop <a> <b>",
            "/set nothing",
            "/show template",
            "/show license",
            "/show nothing",
            "/frobnicate",
            "/load",
            "^C",
            "\"\"\"one",
            "two\"\"\"",
            "/clear",
            "/bye",
            "never read");
        Assert.Equal(
            "Set system message.\n"
            + "You are terse.\n\n"
            + "Set 'verbose' mode.\n"
            + "Set 'quiet' mode.\n"
            + "Invalid or missing format. For 'json' mode use '/set format json'\n"
            + "Couldn't set parameter: \"invalid int value [x] for parameter 'top_k'; expected a whole number\"\n"
            + "Set parameter 'stop' to '<a>, <b>'\n"
            + "Unknown command '/set nothing'. Type /? for help\n"
            + "No prompt template was specified for this model.\n"
            + "No license was specified for this model.\n"
            + "Unknown command '/show nothing'. Type /? for help\n"
            + "Unknown command '/frobnicate'. Type /? for help\n"
            + "Usage:\n  /load <modelname>\n"
            + "\nUse Ctrl + d or /bye to exit.\n",
            output[..output.IndexOf("Use Ctrl + d or /bye to exit.\n", StringComparison.Ordinal)] + "Use Ctrl + d or /bye to exit.\n");
        Assert.EndsWith("\n\nCleared session context\n", output, StringComparison.Ordinal);
        // /set parameter without a value lists the parameters (on stderr, as Ollama).
        Assert.StartsWith("Available Parameters:\n", error, StringComparison.Ordinal);
        // The multi-line message was sent (one answer), then /clear kept only the system message; /bye ended the session.
        Assert.Equal([("system", "You are terse.")], options.Messages.Select(m => (m.Role, m.Content)));
        Assert.Equal(["<a>", "<b>"], options.Options["stop"].AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(19, lines.Prompts.Count);
        Assert.True(lines.Prompts[16]);
    }

    [Fact]
    public void Save_writes_a_model_with_the_session_and_load_switches_models()
    {
        using var store = new TempDirectory();
        var (output, _, _, _) = Session(store.Path,
            "/set system Be brief.",
            "The sky is",
            "/save bad:name:x",
            "/save chat",
            "/load no-such-model",
            "/load chat",
            "/show system",
            "/show modelfile");
        Assert.Contains("error: The model name 'bad:name:x' is invalid\n", output, StringComparison.Ordinal);
        Assert.Contains("Created new model 'chat'\n", output, StringComparison.Ordinal);
        Assert.Contains("Loading model 'no-such-model'\nCouldn't find model 'no-such-model'\n", output, StringComparison.Ordinal);
        // The loaded model shows its messages as Ollama shows them, and has the saved system message and parameters.
        Assert.Contains("Loading model 'chat'\n>>> The sky is\n", output, StringComparison.Ordinal);
        Assert.Contains("Be brief.\n\n", output, StringComparison.Ordinal);
        var saved = StoredModel.Load(new ModelStore(store.Path), ModelName.Parse("chat"));
        Assert.Equal("Be brief.", saved.System);
        Assert.Equal(["system", "user", "assistant"], saved.Messages.Select(m => m.Role));
        Assert.Equal("3", ModelParameters.TextOf(saved.Parameters["num_predict"]));
        Assert.Contains("PARAMETER num_predict 3\nPARAMETER temperature 0\n", output, StringComparison.Ordinal);
        Assert.Contains("MESSAGE user The sky is\n", output, StringComparison.Ordinal);
    }
}
