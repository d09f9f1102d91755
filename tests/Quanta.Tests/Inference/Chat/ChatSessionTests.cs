using System.Text.Json.Nodes;
using Quanta.Inference.Chat;
using Quanta.Tests.Cli;
using Quanta.Templates.Ollama;

namespace Quanta.Tests.Inference.Chat;

/// <summary>
/// The chat session on the demo model: greedy answers are <c>quanta complete --temp 0</c>'s (whose chain is tested
/// against llama.cpp's), seeded answers are <c>quanta complete</c>'s with Ollama's sampler settings, and each option
/// does what Ollama's does (top_k 1, stop, num_predict, num_ctx), the prompt cache and the context shift included.
/// </summary>
[Collection(DemoChatModelCollection.Name)]
public sealed class ChatSessionTests(DemoChatModel demo)
{
    const string Prompt = "The sky is";

    static ChatRequest Ask(string text, params (string Name, string Json)[] options) =>
        new([new PromptMessage("user", text)]) { Options = Options(options) };

    static List<KeyValuePair<string, JsonNode?>> Options(params (string Name, string Json)[] options) =>
        [.. options.Select(o => new KeyValuePair<string, JsonNode?>(o.Name, JsonNode.Parse(o.Json)))];

    /// <summary><c>quanta complete</c>'s text for the same prompt (escapes aside, the same tokens: BOS, special tokens parsed).</summary>
    string Complete(params string[] options)
    {
        var result = CliRunner.Run(["complete", "-m", demo.Path, "-p", Prompt, "-t", "2", .. options]);
        Assert.True(result.ExitCode == 0, result.Error);
        return result.Out;
    }

    [Fact]
    public void Greedy_answers_are_complete_at_temperature_0()
    {
        var session = new ChatSession(demo.Model);
        var deltas = new List<string>();
        var answer = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "24")), d => deltas.Add(d.Content));
        Assert.Equal(Complete("--temp", "0", "-n", "24"), answer.Content);
        Assert.Equal(answer.Content, string.Concat(deltas));
        Assert.Equal(24, answer.Statistics.EvalCount);
        Assert.Equal(DoneReasons.Length, answer.DoneReason);
    }

    [Fact]
    public void A_fixed_seed_repeats_and_samples_as_complete_with_ollama_s_settings()
    {
        var session = new ChatSession(demo.Model);
        string Sample(long seed) => session.Chat(Ask(Prompt, ("temperature", "1.5"), ("seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("num_predict", "20"))).Content;
        var first = Sample(42);
        Assert.Equal(first, Sample(42));
        Assert.NotEqual(first, Sample(43));
        // Ollama's defaults differ from llama-cli's in top_p (0.9) and min_p (0); top_k 40 and the rest are the same.
        Assert.Equal(Complete("--temp", "1.5", "--seed", "42", "--top-p", "0.9", "--min-p", "0", "-n", "20"), first);
    }

    [Fact]
    public void Top_k_1_is_greedy_whatever_the_temperature_and_seed()
    {
        var session = new ChatSession(demo.Model);
        var greedy = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "16"))).Content;
        var topK = session.Chat(Ask(Prompt, ("temperature", "1.5"), ("top_k", "1"), ("seed", "7"), ("num_predict", "16"))).Content;
        Assert.Equal(greedy, topK);
    }

    [Fact]
    public void Stop_ends_the_answer_before_the_stop_text_even_across_tokens()
    {
        var session = new ChatSession(demo.Model);
        var pieces = new List<string>();
        var greedy = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "24")), d => pieces.Add(d.Content)).Content;
        // A stop text made of the end of one token's text and the start of the next one's.
        var i = Enumerable.Range(4, pieces.Count - 5).First(i => pieces[i].Length >= 2 && pieces[i + 1].Length >= 2);
        var stop = pieces[i][^2..] + pieces[i + 1][..2];
        var expected = greedy[..greedy.IndexOf(stop, StringComparison.Ordinal)];

        var shown = new List<string>();
        var answer = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "24"), ("stop", $"[\"{stop}\"]")), d => shown.Add(d.Content));
        Assert.Equal(expected, answer.Content);
        Assert.Equal(expected, string.Concat(shown));
        Assert.Equal(DoneReasons.Stop, answer.DoneReason);
    }

    [Fact]
    public void Num_predict_counts_the_generated_tokens()
    {
        var session = new ChatSession(demo.Model);
        var long_ = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "12")));
        var short_ = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "5")));
        Assert.Equal(5, short_.Statistics.EvalCount);
        Assert.Equal(12, long_.Statistics.EvalCount);
        Assert.StartsWith(short_.Content, long_.Content, StringComparison.Ordinal);
        Assert.Equal(Complete("--temp", "0", "-n", "5"), short_.Content);
    }

    [Fact]
    public void A_new_turn_evaluates_only_the_tokens_after_the_cached_prefix_and_answers_as_a_fresh_session()
    {
        var session = new ChatSession(demo.Model);
        var first = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "6")));
        Assert.Equal(4, first.Statistics.PromptEvalCount);
        var cached = session.CachedTokens.Count;

        // The same prompt again: only its last token is evaluated again, for its logits.
        var again = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "6")));
        Assert.Equal(1, again.Statistics.PromptEvalCount);
        Assert.Equal(first.Content, again.Content);

        // A longer prompt that starts with it: only the new tokens are evaluated, and the answer is a fresh session's.
        var longer = Prompt + " blue";
        var next = session.Chat(Ask(longer, ("temperature", "0"), ("num_predict", "6")));
        var tokens = demo.Model.Tokenizer.Tokenize(longer, addSpecial: true, parseSpecial: true);
        Assert.True(cached > 4);
        Assert.Equal(tokens.Length - 4, next.Statistics.PromptEvalCount);
        var fresh = new ChatSession(demo.Model).Chat(Ask(longer, ("temperature", "0"), ("num_predict", "6")));
        Assert.Equal(tokens.Length, fresh.Statistics.PromptEvalCount);
        Assert.Equal(fresh.Content, next.Content);
    }

    [Fact]
    public void A_full_context_is_shifted_keeping_num_keep_tokens_and_the_answer_goes_on()
    {
        var session = new ChatSession(demo.Model);
        var prompt = demo.Model.Tokenizer.Tokenize(Prompt, addSpecial: true, parseSpecial: true);
        var answer = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_ctx", "16"), ("num_predict", "40")));
        Assert.Equal(40, answer.Statistics.EvalCount);
        Assert.True(session.CachedTokens.Count < 16);
        // BOS + num_keep (4) prompt tokens stay at the front: here the whole prompt and the first generated token.
        Assert.Equal(prompt, session.CachedTokens.Take(prompt.Length));

        // Until the first shift (after 15 positions), the answer is the greedy one.
        var unshifted = new ChatSession(demo.Model).Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "12")));
        Assert.StartsWith(unshifted.Content, answer.Content, StringComparison.Ordinal);
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_refused_or_cut_as_ollama_cuts_it()
    {
        var text = string.Join(' ', Enumerable.Repeat("the sky is blue", 10));
        var tokens = demo.Model.Tokenizer.Tokenize(text, addSpecial: true, parseSpecial: true);
        Assert.True(tokens.Length > 20);
        var refusing = new ChatSession(demo.Model) { TruncateLongPrompts = false };
        var e = Assert.Throws<ChatException>(() => refusing.Chat(Ask(text, ("num_ctx", "20"), ("num_predict", "1"))));
        Assert.Equal($"the prompt is {tokens.Length} tokens, longer than the context of 20 (num_ctx)", e.Message);

        // Ollama: keep BOS + num_keep (4), then the last tokens, so that (20 - 5) / 2 = 7 positions stay free.
        var cutting = new ChatSession(demo.Model);
        var answer = cutting.Chat(Ask(text, ("num_ctx", "20"), ("num_predict", "1")));
        Assert.Equal(13, answer.Statistics.PromptEvalCount);
        Assert.Equal(tokens[..5].Concat(tokens[^8..]), cutting.CachedTokens);
    }

    [Fact]
    public void The_model_s_system_message_and_messages_come_before_the_conversation_through_the_template()
    {
        var session = new ChatSession(demo.Model, "{{ range .Messages }}[{{ .Role }}] {{ .Content }}\n{{ end }}")
        {
            System = "Be brief.",
            Messages = [new PromptMessage("user", "hi"), new PromptMessage("assistant", "hello")],
        };
        var conversation = session.Conversation([new PromptMessage("user", "why?")]);
        var prompt = OllamaPrompt.Chat(session.Template, new PromptRequest(conversation)).Text;
        Assert.Equal("[system] Be brief.\n[user] hi\n[assistant] hello\n[user] why?\n", prompt);
        // A conversation with its own system message keeps it instead, after the model's messages (Ollama's chat handler).
        Assert.Equal(["hi", "hello", "mine"], session.Conversation([new PromptMessage("system", "mine")]).Select(m => m.Content));
        Assert.Equal(TemplateLanguage.Go, session.TemplateSource.Language);
        // Without a stored template or a chat template in the file: Ollama's default.
        Assert.Equal(ChatTemplateChoice.DefaultTemplate, new ChatSession(demo.Model).TemplateSource.Text);
    }

    [Fact]
    public void A_file_s_jinja_chat_template_renders_as_huggingface_jinja_renders_it_and_brings_its_stop_words()
    {
        // Gemma 2's chat template (llama.cpp's models/templates) in a copy of the demo model, whose BOS text is <s>.
        var template = File.ReadAllText(System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "templates", "jinja", "llama.cpp", "google-gemma-2-2b-it.jinja"));
        var path = demo.File("gemma-template.gguf");
        File.Copy(demo.Path, path, overwrite: true);
        var set = CliRunner.Run("gguf", "set", path, "tokenizer.chat_template=str:" + template);
        Assert.True(set.ExitCode == 0, set.Error);
        using var model = ChatModel.Load(path, threads: 2);
        var session = new ChatSession(model);
        Assert.Equal(TemplateLanguage.Jinja, session.TemplateSource.Language);

        // @huggingface/jinja's output for this template and message (Fixtures/templates/jinja/render-cases.json,
        // "google-gemma-2-2b-it user-only +gen"), less the BOS text, which the tokenizer adds as a token.
        const string Oracle = "<s><start_of_turn>user\nHello there!<end_of_turn>\n<start_of_turn>model\n";
        var prompt = OllamaPrompt.Chat(session.Template, new PromptRequest(session.Conversation([new PromptMessage("user", "Hello there!")]))).Text;
        Assert.Equal(Oracle["<s>".Length..], prompt);
        // The named template Ollama's create would match it with gives the end-of-turn stop words.
        Assert.Contains("<end_of_turn>", session.StopSequences(ChatParameters.Defaults));
        var named = OllamaNamedTemplates.Match(template);
        Assert.NotNull(named);
        Assert.Equal(["###", .. named.Stop], session.StopSequences(ChatParameters.Defaults with { Stop = ["###"] }));

        var answer = session.Chat(Ask("Hello there!", ("temperature", "0"), ("num_predict", "4")));
        Assert.Equal(model.Tokenizer.Tokenize(Oracle, addSpecial: false, parseSpecial: true).Length, answer.Statistics.PromptEvalCount);
        Assert.Equal(model.Tokenizer.Vocabulary.Bos, session.CachedTokens[0]);

        // A stored TEMPLATE wins over the file's.
        Assert.Equal(TemplateLanguage.Go, new ChatSession(model, "{{ .Prompt }}").TemplateSource.Language);
    }

    [Fact]
    public void Format_json_constrains_the_answer_to_json_and_a_bad_format_is_ollama_s_error()
    {
        var session = new ChatSession(demo.Model);
        var answer = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "12")) with { Format = "\"json\"" });
        Assert.StartsWith("{", answer.Content, StringComparison.Ordinal);
        var free = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "12")));
        Assert.NotEqual(free.Content, answer.Content);
        var e = Assert.Throws<Quanta.Inference.Sampling.Grammar.JsonSchemaConversionException>(() => session.Chat(Ask(Prompt) with { Format = "\"yaml\"" }));
        Assert.StartsWith("invalid format: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_think_on_a_template_that_opens_the_thinking_puts_the_answer_in_the_thinking()
    {
        // A template whose messages show thinking between <think> tags and whose prompt opens one (Ollama infers the tags).
        const string Template = "{{ range .Messages }}{{ .Content }}{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}{{ end }}<think>";
        var session = new ChatSession(demo.Model, Template);
        Assert.Equal(new Quanta.Inference.Chat.Thinking.ThinkingTags("<think>", "</think>"), session.ThinkingTags);
        var plain = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "10")));
        var thinking = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "10")) with { Think = ThinkSetting.FromBool(true) });
        Assert.Equal("", thinking.Content);
        Assert.Equal(plain.Content.Trim(), thinking.Thinking.Trim());
        Assert.Null(new ChatSession(demo.Model).ThinkingTags);
    }

    [Fact]
    public void Cancelling_stops_the_answer_and_the_session_goes_on()
    {
        var session = new ChatSession(demo.Model);
        using var cancel = new CancellationTokenSource();
        var count = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "50")), _ =>
        {
            if (++count == 3)
            {
                cancel.Cancel();
            }
        }, cancel.Token));
        var after = session.Chat(Ask(Prompt, ("temperature", "0"), ("num_predict", "8")));
        Assert.Equal(Complete("--temp", "0", "-n", "8"), after.Content);
    }
}
