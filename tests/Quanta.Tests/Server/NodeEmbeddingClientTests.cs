using System.Text.Json;
using Quanta.Store;
using Quanta.Tests.Inference.Models;
using Xunit;

namespace Quanta.Tests.Server;

/// <summary>
/// The npm clients' embedding calls, unchanged (tests/clients/embed-clients.mjs): ollama-js <c>embed</c> and openai's
/// <c>embeddings.create</c> (base64 on the wire, decoded by the client) give llama-embedding's vectors for the
/// shipped tiny trained Llama; unknown models are their clients' 404 errors.
/// </summary>
public sealed class NodeEmbeddingClientTests
{
    [Fact]
    public async Task Ollama_js_and_openai_node_embed()
    {
        await using var server = await TestServer.StartAsync();
        ModelCreator.Create(server.Store, ModelName.Parse("embedder"), Modelfile.Parse($"FROM {TinyTrainedModel.ShippedQ8_0}"), TinyTrainedModel.Directory);

        var output = await NodeClientTests.RunNodeAsync(NodeClientTests.ClientScript("embed-clients.mjs"), server.Address.ToString().TrimEnd('/'), "embedder", EmbeddingEndpointTests.Short, EmbeddingEndpointTests.Long);

        using var document = JsonDocument.Parse(output);
        var r = document.RootElement;
        var expected = new[] { EmbeddingEndpointTests.Recorded(EmbeddingEndpointTests.Short), EmbeddingEndpointTests.Recorded(EmbeddingEndpointTests.Long) };
        foreach (var client in new[] { "ollama", "openai" })
        {
            var result = r.GetProperty(client);
            Assert.Equal("embedder", result.GetProperty("model").GetString());
            var embeddings = result.GetProperty("embeddings").EnumerateArray().ToList();
            Assert.Equal(2, embeddings.Count);
            for (var e = 0; e < 2; e++)
            {
                var vector = embeddings[e].EnumerateArray().Select(v => v.GetSingle()).ToArray();
                Assert.Equal(expected[e].Length, vector.Length);
                for (var i = 0; i < vector.Length; i++)
                {
                    Assert.True(Math.Abs(vector[i] - expected[e][i]) <= 5e-6, $"{client} input {e} dimension {i}: {vector[i]} vs llama-embedding {expected[e][i]}");
                }
            }
        }
        Assert.Equal(37, r.GetProperty("ollama").GetProperty("promptEvalCount").GetInt32());
        Assert.Equal(37, r.GetProperty("openai").GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(16, r.GetProperty("ollamaDimensions").GetInt32());
        Assert.Equal(8, r.GetProperty("openaiDimensions").GetInt32());
        Assert.Equal(404, r.GetProperty("ollamaMissing").GetProperty("status").GetInt32());
        Assert.Equal("model 'nope' not found", r.GetProperty("ollamaMissing").GetProperty("error").GetString());
        Assert.Equal(404, r.GetProperty("openaiMissing").GetProperty("status").GetInt32());
        Assert.Equal("NotFoundError", r.GetProperty("openaiMissing").GetProperty("name").GetString());
    }
}
