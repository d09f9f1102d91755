using System.ClientModel;
using System.Net;
using System.Text.Json;
using OllamaSharp;
using OllamaSharp.Models;
using OpenAI;
using OpenAI.Embeddings;
using Quanta.Store;
using Quanta.Tests.Inference.Models;
using Xunit;

namespace Quanta.Tests.Server;

/// <summary>
/// <c>/api/embed</c>, <c>/api/embeddings</c> and <c>/v1/embeddings</c> on the shipped tiny trained Llama, over raw HTTP
/// and through OllamaSharp 5.5.2 and OpenAI 2.15: the vectors are llama-embedding's (mean pooling, L2-normalised;
/// Fixtures/models/tiny-llama-trained/llama.cpp/llama-embedding.json, see EmbeddingTests), with Ollama's
/// <c>dimensions</c>, <c>truncate</c>, empty inputs and errors.
/// </summary>
public sealed class EmbeddingEndpointTests
{
    internal const string Short = "The package provides a library for parsing";
    internal const string Long = "This release fixes a crash when the configuration file is missing, updates the translations and documents the new command line options for the daemon.";

    /// <summary>llama-embedding's mean-pooled vector of <paramref name="prompt"/> (normalised: 2, raw: −1).</summary>
    internal static float[] Recorded(string prompt, int normalize = 2)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(TinyTrainedModel.LlamaCpp("llama-embedding.json")));
        var entry = document.RootElement.EnumerateArray().Single(e =>
            e.GetProperty("prompt").GetString() == prompt && e.GetProperty("pooling").GetString() == "mean" && e.GetProperty("normalize").GetInt32() == normalize);
        return [.. entry.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle())];
    }

    static async Task<TestServer> StartWithModelAsync()
    {
        var server = await TestServer.StartAsync();
        ModelCreator.Create(server.Store, ModelName.Parse("embedder"), Modelfile.Parse($"FROM {TinyTrainedModel.ShippedQ8_0}"), TinyTrainedModel.Directory);
        return server;
    }

    /// <summary>Within the oracle's 7 printed decimals and the one rounding step of the 29-token prompt (EmbeddingTests).</summary>
    static void AssertClose(float[] expected, IReadOnlyList<float> actual, double tolerance = 5e-6)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"dimension {i}: {actual[i]} vs llama-embedding {expected[i]}");
        }
    }

    static double Norm(IEnumerable<float> v) => Math.Sqrt(v.Sum(x => (double)x * x));

    [Fact]
    public async Task Embedding_models_are_held_by_the_scheduler_for_keep_alive_as_generations_are()
    {
        await using var server = await StartWithModelAsync();

        using (var first = await server.PostJsonAsync("/api/embed", $$"""{"model":"embedder","input":"{{Short}}","keep_alive":"10m"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            using var document = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
            Assert.True(document.RootElement.GetProperty("load_duration").GetInt64() > 0);
        }
        var loaded = Assert.Single(await PsModelsAsync(server));
        Assert.Equal("embedder:latest", loaded.GetProperty("name").GetString());

        // Already loaded: the second request does not load it again.
        using (var second = await server.PostJsonAsync("/api/embed", $$"""{"model":"embedder","input":"{{Short}}"}"""))
        {
            using var document = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
            // Ollama's load_duration is omitempty: absent when nothing was loaded.
            Assert.False(document.RootElement.TryGetProperty("load_duration", out _));
            AssertClose(Recorded(Short), [.. document.RootElement.GetProperty("embeddings")[0].EnumerateArray().Select(v => v.GetSingle())]);
        }

        using (var unload = await server.PostJsonAsync("/api/embed", """{"model":"embedder","input":"x","keep_alive":0}"""))
        {
            Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        }
        for (var i = 0; i < 100 && (await PsModelsAsync(server)).Length > 0; i++)
        {
            await Task.Delay(50);
        }
        Assert.Empty(await PsModelsAsync(server));
    }

    static async Task<JsonElement[]> PsModelsAsync(TestServer server)
    {
        using var response = await server.Http.GetAsync("/api/ps");
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. document.RootElement.GetProperty("models").EnumerateArray().Select(m => m.Clone())];
    }

    [Fact]
    public async Task Api_embed_answers_Ollamas_fields_vectors_dimensions_truncation_and_errors()
    {
        await using var server = await StartWithModelAsync();

        using var both = await server.PostJsonAsync("/api/embed", $$"""{"model":"embedder","input":["{{Short}}","{{Long}}"]}""");
        Assert.Equal(HttpStatusCode.OK, both.StatusCode);
        using (var document = JsonDocument.Parse(await both.Content.ReadAsStringAsync()))
        {
            var r = document.RootElement;
            Assert.Equal("embedder", r.GetProperty("model").GetString());
            var embeddings = r.GetProperty("embeddings").EnumerateArray().Select(e => e.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
            Assert.Equal(2, embeddings.Count);
            AssertClose(Recorded(Short, 2), embeddings[0]);
            AssertClose(Recorded(Long, 2), embeddings[1]);
            Assert.Equal(8 + 29, r.GetProperty("prompt_eval_count").GetInt32());
            Assert.True(r.GetProperty("total_duration").GetInt64() >= r.GetProperty("load_duration").GetInt64());
            Assert.True(r.GetProperty("load_duration").GetInt64() > 0);
        }

        using var cut = await server.PostJsonAsync("/api/embed", $$"""{"model":"embedder","input":"{{Short}}","dimensions":16}""");
        using (var document = JsonDocument.Parse(await cut.Content.ReadAsStringAsync()))
        {
            var vector = document.RootElement.GetProperty("embeddings")[0].EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal(16, vector.Length);
            Assert.Equal(1.0, Norm(vector), 5);
            var full = Recorded(Short, 2);
            var scale = Norm(full.Take(16));
            AssertClose([.. full.Take(16).Select(v => (float)(v / scale))], vector, 1e-5);
        }

        // num_ctx 10: cut to 10 tokens by default, refused with truncate false.
        using var truncated = await server.PostJsonAsync("/api/embed", $$$"""{"model":"embedder","input":"{{{Long}}}","options":{"num_ctx":10}}""");
        using (var document = JsonDocument.Parse(await truncated.Content.ReadAsStringAsync()))
        {
            Assert.Equal(10, document.RootElement.GetProperty("prompt_eval_count").GetInt32());
        }
        using var refused = await server.PostJsonAsync("/api/embed", $$$"""{"model":"embedder","input":"{{{Long}}}","truncate":false,"options":{"num_ctx":10}}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("""{"error":"the input length exceeds the context length"}""", await refused.Content.ReadAsStringAsync());

        using var empty = await server.PostJsonAsync("/api/embed", """{"model":"embedder","input":""}""");
        Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
        Assert.Equal(0, JsonDocument.Parse(await empty.Content.ReadAsStringAsync()).RootElement.GetProperty("embeddings").GetArrayLength());

        using var missing = await server.PostJsonAsync("/api/embed", """{"model":"nope","input":"x"}""");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("""{"error":"model 'nope' not found"}""", await missing.Content.ReadAsStringAsync());
        using var badType = await server.PostJsonAsync("/api/embed", """{"model":"embedder","input":[1,2]}""");
        Assert.Equal(HttpStatusCode.BadRequest, badType.StatusCode);
        Assert.Equal("""{"error":"invalid input type"}""", await badType.Content.ReadAsStringAsync());
        using var noModel = await server.PostJsonAsync("/api/embed", """{"input":"x"}""");
        Assert.Equal(HttpStatusCode.BadRequest, noModel.StatusCode);
        using var traversal = await server.PostJsonAsync("/api/embed", """{"model":"../../etc/passwd","input":"x"}""");
        Assert.Equal(HttpStatusCode.BadRequest, traversal.StatusCode);
    }

    [Fact]
    public async Task Legacy_api_embeddings_answers_the_pooled_vector_unnormalised_in_float64()
    {
        await using var server = await StartWithModelAsync();
        using var response = await server.PostJsonAsync("/api/embeddings", $$"""{"model":"embedder","prompt":"{{Long}}"}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var vector = document.RootElement.GetProperty("embedding").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        // The raw mean (llama-embedding --embd-normalize -1); 1e-4 for the 29-token prompt's one rounding step.
        AssertClose(Recorded(Long, -1), vector, 1e-4);
        Assert.True(Norm(vector) > 2, "the legacy vector is not normalised");

        using var empty = await server.PostJsonAsync("/api/embeddings", """{"model":"embedder","prompt":""}""");
        Assert.Equal("""{"embedding":[]}""", await empty.Content.ReadAsStringAsync());
        using var missing = await server.PostJsonAsync("/api/embeddings", """{"model":"nope","prompt":"x"}""");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task OllamaSharp_and_OpenAI_dotnet_embed()
    {
        await using var server = await StartWithModelAsync();
        using var ollama = new OllamaApiClient(server.Address);
        var embedded = await ollama.EmbedAsync(new EmbedRequest { Model = "embedder", Input = [Short, Long] });
        Assert.Equal(2, embedded.Embeddings.Count);
        AssertClose(Recorded(Short, 2), embedded.Embeddings[0]);
        AssertClose(Recorded(Long, 2), embedded.Embeddings[1]);
        Assert.Equal(37, embedded.PromptEvalCount);
        var unknown = await Assert.ThrowsAnyAsync<Exception>(() => ollama.EmbedAsync(new EmbedRequest { Model = "nope", Input = ["x"] }));
        Assert.Contains("not found", unknown.Message + (unknown as HttpRequestException)?.StatusCode, StringComparison.OrdinalIgnoreCase);

        // The OpenAI client asks for base64 unless told otherwise.
        var client = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") }).GetEmbeddingClient("embedder");
        var result = await client.GenerateEmbeddingsAsync([Short, Long]);
        Assert.Equal(2, result.Value.Count);
        AssertClose(Recorded(Short, 2), result.Value[0].ToFloats().ToArray());
        AssertClose(Recorded(Long, 2), result.Value[1].ToFloats().ToArray());
        Assert.Equal(37, result.Value.Usage.InputTokenCount);
        Assert.Equal(37, result.Value.Usage.TotalTokenCount);
        var cut = await client.GenerateEmbeddingAsync(Short, new EmbeddingGenerationOptions { Dimensions = 32 });
        Assert.Equal(32, cut.Value.ToFloats().Length);
        Assert.Equal(1.0, Norm(cut.Value.ToFloats().ToArray()), 5);
        var nope = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") }).GetEmbeddingClient("nope");
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => nope.GenerateEmbeddingAsync("x"));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task V1_embeddings_answers_floats_or_base64_and_OpenAIs_errors()
    {
        await using var server = await StartWithModelAsync();
        using var floats = await server.PostJsonAsync("/v1/embeddings", $$"""{"model":"embedder","input":"{{Short}}","encoding_format":"float"}""");
        using (var document = JsonDocument.Parse(await floats.Content.ReadAsStringAsync()))
        {
            var r = document.RootElement;
            Assert.Equal("list", r.GetProperty("object").GetString());
            Assert.Equal("embedder", r.GetProperty("model").GetString());
            var item = Assert.Single(r.GetProperty("data").EnumerateArray());
            Assert.Equal("embedding", item.GetProperty("object").GetString());
            Assert.Equal(0, item.GetProperty("index").GetInt32());
            AssertClose(Recorded(Short, 2), [.. item.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle())]);
            Assert.Equal(8, r.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        }
        using var bad = await server.PostJsonAsync("/v1/embeddings", """{"model":"embedder","input":"x","encoding_format":"int8"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var document = JsonDocument.Parse(await bad.Content.ReadAsStringAsync()))
        {
            var error = document.RootElement.GetProperty("error");
            Assert.Equal("Invalid value for 'encoding_format' = int8. Supported values: ['float', 'base64'].", error.GetProperty("message").GetString());
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        }
        using var none = await server.PostJsonAsync("/v1/embeddings", """{"model":"embedder","input":[]}""");
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        Assert.Contains("invalid input", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task V1_embeddings_takes_token_ids_as_OpenAI_s_API_allows()
    {
        await using var server = await StartWithModelAsync();
        int[] tokens;
        using (var model = Quanta.Inference.Chat.ChatModel.Load(TinyTrainedModel.ShippedQ8_0, threads: 1))
        {
            // The tokens the text gives (BOS first): the same vector as the text's, llama-embedding's.
            tokens = model.Tokenizer.Tokenize(Short, addSpecial: true, parseSpecial: true);
        }
        var ids = string.Join(',', tokens);
        using (var one = await server.PostJsonAsync("/v1/embeddings", $$"""{"model":"embedder","input":[{{ids}}]}"""))
        using (var document = JsonDocument.Parse(await one.Content.ReadAsStringAsync()))
        {
            Assert.Equal(HttpStatusCode.OK, one.StatusCode);
            var item = Assert.Single(document.RootElement.GetProperty("data").EnumerateArray());
            AssertClose(Recorded(Short, 2), [.. item.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle())]);
            Assert.Equal(tokens.Length, document.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        }
        using (var two = await server.PostJsonAsync("/v1/embeddings", $$"""{"model":"embedder","input":[[{{ids}}],[{{ids}}]]}"""))
        using (var document = JsonDocument.Parse(await two.Content.ReadAsStringAsync()))
        {
            var data = document.RootElement.GetProperty("data").EnumerateArray().ToList();
            Assert.Equal(2, data.Count);
            Assert.Equal(1, data[1].GetProperty("index").GetInt32());
            AssertClose(Recorded(Short, 2), [.. data[1].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle())]);
        }
        foreach (var bad in new[] { "[1, \"x\"]", "[[1], []]", "[1.5]", "[99999999]" })
        {
            using var response = await server.PostJsonAsync("/v1/embeddings", $$"""{"model":"embedder","input":{{bad}}}""");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }
}
