using System.Text;
using Quanta.Cli;
using Quanta.Tests.Inference.Chat;

namespace Quanta.Tests.Cli;

/// <summary>
/// <c>quanta run</c> answering once on a bare GGUF file: the text is <c>quanta complete</c>'s for the same settings,
/// followed by Ollama's blank line; <c>--verbose</c> prints Ollama's statistics block; piped stdin goes before the
/// prompt; every error is one line.
/// </summary>
[Collection(DemoChatModelCollection.Name)]
public sealed class RunCommandTests(DemoChatModel demo)
{
    string Complete(string prompt, params string[] options)
    {
        var result = CliRunner.Run(["complete", "-m", demo.Path, "-p", prompt, "-t", "2", .. options]);
        Assert.True(result.ExitCode == 0, result.Error);
        return result.Out;
    }

    [Fact]
    public void One_answer_is_complete_s_text_then_a_blank_line()
    {
        var result = CliRunner.Run("run", demo.Path, "The", "sky", "is", "--set", "temperature=0", "--set", "num_predict=16", "--set", "num_thread=2");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("", result.Error);
        Assert.Equal(Complete("The sky is", "--temp", "0", "-n", "16") + "\n\n", result.Out);

        // Options as Ollama's: a seed repeats; top_p and min_p are Ollama's defaults (0.9, 0).
        var seeded = CliRunner.Run("run", demo.Path, "The sky is", "--set", "seed=42", "--set", "temperature=1.5", "--set", "num_predict=12", "--set", "num_thread=2");
        Assert.Equal(Complete("The sky is", "--temp", "1.5", "--seed", "42", "--top-p", "0.9", "--min-p", "0", "-n", "12") + "\n\n", seeded.Out);
    }

    [Fact]
    public void Think_takes_its_value_after_an_equals_sign_and_a_prompt_after_it_stays_a_prompt()
    {
        // `--think "The sky is"`: thinking on, and the prompt (as cobra reads Ollama's flag); the template here has no .Think.
        var result = CliRunner.Run("run", demo.Path, "--think", "The sky is", "--set", "temperature=0", "--set", "num_predict=8", "--set", "num_thread=2");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(Complete("The sky is", "--temp", "0", "-n", "8") + "\n\n", result.Out);
        var off = CliRunner.Run("run", demo.Path, "--think=false", "The sky is", "--set", "temperature=0", "--set", "num_predict=8", "--set", "num_thread=2");
        Assert.Equal(result.Out, off.Out);
    }

    [Fact]
    public void Format_json_and_thinking_show_as_ollama_shows_them()
    {
        var json = CliRunner.Run("run", demo.Path, "The sky is", "--format", "json", "--set", "temperature=0", "--set", "num_predict=10", "--set", "num_thread=2");
        Assert.True(json.ExitCode == 0, json.Error);
        Assert.StartsWith("{", json.Out, StringComparison.Ordinal);

        using var store = new TempDirectory();
        File.WriteAllText(store.File("Modelfile"), $"FROM {demo.Path}\nTEMPLATE \"\"\"{{{{ range .Messages }}}}{{{{ .Content }}}}{{{{ if .Thinking }}}}<think>{{{{ .Thinking }}}}</think>{{{{ end }}}}{{{{ end }}}}<think>\"\"\"\n");
        var created = CliRunner.Run("create", "thinker", "-f", store.File("Modelfile"), "--store", store.Path);
        Assert.True(created.ExitCode == 0, created.Error);
        string[] args = ["run", "thinker", "The sky is", "--store", store.Path, "--set", "temperature=0", "--set", "num_predict=8", "--set", "num_thread=2"];
        var thinking = CliRunner.Run([.. args, "--think"]);
        Assert.True(thinking.ExitCode == 0, thinking.Error);
        Assert.StartsWith("Thinking...\n", thinking.Out, StringComparison.Ordinal);
        Assert.Equal("\n\n", CliRunner.Run([.. args, "--think", "--hidethinking"]).Out);
    }

    [Fact]
    public void Verbose_prints_ollama_s_statistics_on_stderr()
    {
        var result = CliRunner.Run("run", demo.Path, "The sky is", "--verbose", "--set", "temperature=0", "--set", "num_predict=8", "--set", "num_thread=2");
        Assert.True(result.ExitCode == 0, result.Error);
        const string Duration = @"(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|ms|s)";
        string[] patterns =
        [
            $"^total duration:       {Duration}$",
            $"^load duration:        {Duration}$",
            @"^prompt eval count:    4 token\(s\)$",
            $"^prompt eval duration: {Duration}$",
            @"^prompt eval rate:     \d+\.\d\d tokens/s$",
            @"^eval count:           8 token\(s\)$",
            $"^eval duration:        {Duration}$",
            @"^eval rate:            \d+\.\d\d tokens/s$",
        ];
        Assert.Equal(patterns.Length, result.ErrorLines.Length);
        for (var i = 0; i < patterns.Length; i++)
        {
            Assert.Matches(patterns[i], result.ErrorLines[i]);
        }
    }

    [Fact]
    public async Task Piped_input_goes_before_the_prompt_s_words()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr)
        {
            InIsRedirected = true,
            OpenStandardInput = () => new MemoryStream(Encoding.UTF8.GetBytes("The sky")),
        };
        var exit = await Quanta.Cli.Cli.RunAsync(["run", demo.Path, "is", "--set", "temperature=0", "--set", "num_predict=10", "--set", "num_thread=2"], context);
        Assert.True(exit == 0, stderr.ToString());
        Assert.Equal(Complete("The sky is", "--temp", "0", "-n", "10") + "\n\n", stdout.ToString());
    }

    [Fact]
    public void Errors_are_one_line_each()
    {
        using var store = new TempDirectory();
        var unknown = CliRunner.Run("run", "no-such-model", "hi", "--store", store.Path);
        Assert.Equal((2, "error: model 'no-such-model:latest' not found"), (unknown.ExitCode, Assert.Single(unknown.ErrorLines)));

        var missing = CliRunner.Run("run", store.File("missing.gguf"), "hi");
        Assert.Equal((2, $"error: {store.File("missing.gguf")}: file not found"), (missing.ExitCode, Assert.Single(missing.ErrorLines)));

        var mamba = store.File("mamba.gguf");
        File.Copy(demo.Path, mamba);
        Assert.Equal(0, CliRunner.Run("gguf", "set", mamba, "general.architecture=str:mamba").ExitCode);
        var unsupported = CliRunner.Run("run", mamba, "hi");
        Assert.Equal(2, unsupported.ExitCode);
        Assert.StartsWith("error: architecture 'mamba' cannot be run yet", Assert.Single(unsupported.ErrorLines), StringComparison.Ordinal);

        var tooLong = CliRunner.Run("run", demo.Path, string.Join(' ', Enumerable.Repeat("the sky is blue", 10)), "--set", "num_ctx=16");
        Assert.Equal(2, tooLong.ExitCode);
        Assert.Matches(@"^error: the prompt is \d+ tokens, longer than the context of 16 \(num_ctx\)$", Assert.Single(tooLong.ErrorLines));

        var badSet = CliRunner.Run("run", demo.Path, "hi", "--set", "temperature=hot");
        Assert.Equal((2, "error: --set temperature=hot: invalid float value [hot] for parameter 'temperature'; expected a number such as 0.7"),
            (badSet.ExitCode, Assert.Single(badSet.ErrorLines)));
        var unknownSet = CliRunner.Run("run", demo.Path, "hi", "--set", "temprature=1");
        Assert.Equal(2, unknownSet.ExitCode);
        Assert.StartsWith("error: --set temprature=1: unknown parameter 'temprature'", Assert.Single(unknownSet.ErrorLines), StringComparison.Ordinal);

    }

    [Fact]
    public async Task Ctrl_C_during_the_answer_stops_it_with_exit_130()
    {
        using var cancel = new CancellationTokenSource();
        var stdout = new NotifyingWriter(() => cancel.Cancel());
        using var stderr = new StringWriter();
        var exit = await Quanta.Cli.Cli.RunAsync(["run", demo.Path, "The sky is", "--set", "num_predict=2000", "--set", "num_thread=2"], new CliContext(stdout, stderr), cancel.Token);
        Assert.Equal(130, exit);
        Assert.Equal("cancelled", stderr.ToString().Trim());
        Assert.True(stdout.Writes < 100);
    }

    [Fact]
    public async Task Ctrl_C_while_the_model_loads_stops_with_exit_130_and_no_answer()
    {
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await Quanta.Cli.Cli.RunAsync(["run", demo.Path, "The sky is"], new CliContext(stdout, stderr), cancel.Token);
        Assert.Equal((130, "", "cancelled"), (exit, stdout.ToString(), stderr.ToString().Trim()));
    }

    /// <summary>A writer that asks to stop after the third piece of text written to it.</summary>
    sealed class NotifyingWriter(Action third) : StringWriter
    {
        public int Writes { get; private set; }

        public override void Write(string? value)
        {
            base.Write(value);
            if (!string.IsNullOrEmpty(value) && ++Writes == 3)
            {
                third();
            }
        }
    }
}
