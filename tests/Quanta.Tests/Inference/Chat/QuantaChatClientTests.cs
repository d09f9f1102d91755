using Microsoft.Extensions.AI;
using Quanta.Inference.Chat;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Inference.Chat;

/// <summary>
/// Quanta through Microsoft.Extensions.AI's <see cref="IChatClient"/> only: answers are <c>quanta complete</c>'s for
/// the same settings, streaming gives the same text in pieces, and <see cref="ChatOptions"/> map onto Ollama's options.
/// </summary>
[Collection(DemoChatModelCollection.Name)]
public sealed class QuantaChatClientTests(DemoChatModel demo)
{
    const string Prompt = "The sky is";

    IChatClient Client() => new QuantaChatClient(new ChatSession(demo.Model));

    string Complete(params string[] options)
    {
        var result = CliRunner.Run(["complete", "-m", demo.Path, "-p", Prompt, "-t", "2", .. options]);
        Assert.True(result.ExitCode == 0, result.Error);
        return result.Out;
    }

    [Fact]
    public async Task A_response_is_complete_s_answer_with_the_options_mapped()
    {
        using var client = Client();
        var greedy = await client.GetResponseAsync(Prompt, new ChatOptions { Temperature = 0, MaxOutputTokens = 16 });
        Assert.Equal(Complete("--temp", "0", "-n", "16"), greedy.Text);
        Assert.Equal(ChatFinishReason.Length, greedy.FinishReason);
        Assert.Equal(16, greedy.Usage?.OutputTokenCount);
        Assert.Equal(4, greedy.Usage?.InputTokenCount);
        Assert.Equal(ChatRole.Assistant, greedy.Messages[0].Role);

        var seeded = new ChatOptions { Temperature = 1.5f, Seed = 42, MaxOutputTokens = 12 };
        var first = await client.GetResponseAsync(Prompt, seeded);
        Assert.Equal(first.Text, (await client.GetResponseAsync(Prompt, seeded)).Text);
        Assert.Equal(Complete("--temp", "1.5", "--seed", "42", "--top-p", "0.9", "--min-p", "0", "-n", "12"), first.Text);

        var topK = await client.GetResponseAsync(Prompt, new ChatOptions { Temperature = 2, TopK = 1, Seed = 5, MaxOutputTokens = 16 });
        Assert.Equal(greedy.Text, topK.Text);

        var topP = await client.GetResponseAsync(Prompt, new ChatOptions { Temperature = 1.5f, TopP = 0.5f, Seed = 42, MaxOutputTokens = 12 });
        Assert.Equal(Complete("--temp", "1.5", "--seed", "42", "--top-p", "0.5", "--min-p", "0", "-n", "12"), topP.Text);
    }

    [Fact]
    public async Task Streaming_gives_the_same_text_in_pieces_and_ends_with_the_usage()
    {
        using var client = Client();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 16 };
        var whole = await client.GetResponseAsync(Prompt, options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Prompt, options))
        {
            updates.Add(update);
        }
        Assert.True(updates.Count > 2);
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        var usage = Assert.IsType<UsageContent>(Assert.Single(updates[^1].Contents));
        Assert.Equal(16, usage.Details.OutputTokenCount);
        // The updates make up the same response.
        Assert.Equal(whole.Text, updates.ToChatResponse().Text);
    }

    [Fact]
    public async Task Stop_sequences_end_the_answer_before_them_and_a_consumer_may_stop_early()
    {
        using var client = Client();
        var greedy = (await client.GetResponseAsync(Prompt, new ChatOptions { Temperature = 0, MaxOutputTokens = 24 })).Text;
        var stop = greedy.Substring(greedy.Length / 2, 3);
        var stopped = await client.GetResponseAsync(Prompt, new ChatOptions { Temperature = 0, MaxOutputTokens = 24, StopSequences = [stop] });
        Assert.Equal(greedy[..greedy.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);

        // Leaving the stream after two pieces cancels the rest; the client answers the next request as before.
        var seen = 0;
        await foreach (var update in client.GetStreamingResponseAsync(Prompt, new ChatOptions { Temperature = 0, MaxOutputTokens = 200 }))
        {
            if (++seen == 2)
            {
                break;
            }
        }
        Assert.Equal(greedy, (await client.GetResponseAsync(Prompt, new ChatOptions { Temperature = 0, MaxOutputTokens = 24 })).Text);
    }

    [Fact]
    public async Task Instructions_become_the_system_message_and_ollama_options_pass_through()
    {
        using var client = new QuantaChatClient(new ChatSession(demo.Model, "{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}"));
        var quanta = (QuantaChatClient)client;
        var request = quanta.ToRequest([new ChatMessage(ChatRole.User, "hi")], new ChatOptions
        {
            Instructions = "Be brief.",
            AdditionalProperties = new AdditionalPropertiesDictionary { ["num_ctx"] = 64, ["not_an_option"] = 1 },
        });
        Assert.Equal([("system", "Be brief."), ("user", "hi")], request.Messages.Select(m => (m.Role, m.Content)));
        var parameters = quanta.Session.Resolve(request);
        Assert.Equal(64, parameters.NumCtx);
        var penalties = quanta.Session.Resolve(quanta.ToRequest([], new ChatOptions { FrequencyPenalty = 0.5f, PresencePenalty = 0.25f, StopSequences = ["x", "y"] }));
        Assert.Equal((0.5f, 0.25f), (penalties.FrequencyPenalty, penalties.PresencePenalty));
        Assert.Equal(["x", "y"], penalties.Stop);
        Assert.Same(quanta.Metadata, client.GetService(typeof(ChatClientMetadata)));
        Assert.Equal("quanta", client.GetService<ChatClientMetadata>()?.ProviderName);
        // JSON output is Ollama's format: "json" quoted, or the schema.
        Assert.Equal("\"json\"", quanta.ToRequest([], new ChatOptions { ResponseFormat = ChatResponseFormat.Json }).Format);
        var schema = System.Text.Json.JsonDocument.Parse("""{"type":"object","properties":{"a":{"type":"integer"}}}""").RootElement;
        Assert.Equal(schema.GetRawText(), quanta.ToRequest([], new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema) }).Format);
        Assert.Null(quanta.ToRequest([], new ChatOptions()).Format);
        var answer = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { Instructions = "Be brief.", Temperature = 0, MaxOutputTokens = 4 });
        Assert.Equal(4, answer.Usage?.OutputTokenCount);
    }
}
