using System.Net;
using System.Text.Json;

namespace Quanta.Tests.Server;

/// <summary>
/// Continuous batching over the wire (<c>QUANTA_NUM_PARALLEL</c> 4, the default): greedy requests sent together, more
/// of them than sequences, through <c>/api/generate</c> and <c>/v1/chat/completions</c>, each answer the one the
/// request gets alone (the first is llama.cpp's text); a client that disconnects in the middle leaves the batch at once
/// and its neighbours' answers do not change.
/// </summary>
public sealed class BatchedGenerationEndpointTests
{
    static readonly string[] Prompts = ["The package", "Once upon a time", "The", "Hello there", "A small dog", "Why", "It was"];

    static async Task<string> GenerateAsync(TestServer server, string prompt)
    {
        using var response = await server.PostJsonAsync("/api/generate", $$$"""{"model": "tiny", "prompt": "{{{prompt}}}", "stream": false, "options": {"temperature": 0, "num_predict": 16}}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("response").GetString()!;
    }

    static async Task<string> CompleteAsync(TestServer server, string prompt)
    {
        using var response = await server.PostJsonAsync("/v1/chat/completions", $$"""{"model": "tiny", "messages": [{"role": "user", "content": "{{prompt}}"}], "temperature": 0, "max_tokens": 16}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    [Fact]
    public async Task Requests_sent_together_answer_what_each_answers_alone_and_a_disconnect_leaves_the_others()
    {
        await using var server = await TestServer.StartAsync();
        server.AddTrainedModel("tiny");
        var alone = new List<string>();
        foreach (var prompt in Prompts)
        {
            alone.Add(await GenerateAsync(server, prompt));
        }
        Assert.Equal(TestServer.GreedyThePackage, alone[0]);
        var aloneChat = await CompleteAsync(server, Prompts[1]);

        // One client asks for an endless answer and goes away after its first line, while the others run.
        var endless = """{"model": "tiny", "prompt": "The package", "options": {"num_predict": 100000}}""";
        var disconnecting = Task.Run(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/generate") { Content = new StringContent(endless) };
            using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.False(string.IsNullOrEmpty(await reader.ReadLineAsync()));
        });
        var together = Task.WhenAll(Prompts.Select(p => GenerateAsync(server, p)));
        var chats = Task.WhenAll(Enumerable.Range(0, 3).Select(_ => CompleteAsync(server, Prompts[1])));
        await disconnecting;
        Assert.Equal(alone, await together);
        Assert.All(await chats, text => Assert.Equal(aloneChat, text));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!server.Log.Contains("client disconnected: POST /api/generate", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.Contains("client disconnected: POST /api/generate", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
        // The sequence it left is reused without a trace of it.
        Assert.Equal(TestServer.GreedyThePackage, await GenerateAsync(server, "The package"));
    }
}
