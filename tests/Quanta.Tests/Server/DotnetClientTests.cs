using System.ClientModel;
using System.Security.Cryptography;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Exceptions;
using OpenAI;
using Quanta.Store;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Server;

/// <summary>
/// The .NET clients people use, unchanged, against <c>quanta serve</c>: OllamaSharp 5.5.2 (list, show, blob upload,
/// create, copy, delete, errors) and OpenAI 2.15 (models list and retrieve, errors).
/// </summary>
public sealed class DotnetClientTests
{
    [Fact]
    public async Task OllamaSharp_creates_lists_shows_copies_and_deletes()
    {
        await using var server = await TestServer.StartAsync();
        using var ollama = new OllamaApiClient(server.Address);

        Assert.True(await ollama.IsRunningAsync());
        Assert.Equal("0.33.0", await ollama.GetVersionAsync());

        var bytes = File.ReadAllBytes(CliRunner.TinyModel);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.False(await ollama.IsBlobExistsAsync(digest));
        await ollama.PushBlobAsync(digest, bytes);
        Assert.True(await ollama.IsBlobExistsAsync(digest));

        var statuses = new List<string>();
        await foreach (var status in ollama.CreateModelAsync(new CreateModelRequest
        {
            Model = "sharp",
            Stream = true,
            Files = new Dictionary<string, string> { ["tiny.gguf"] = digest },
            System = "be brief",
            Parameters = new Dictionary<string, object> { ["temperature"] = 0.25, ["stop"] = new[] { "<end>" } },
        }))
        {
            statuses.Add(status!.Status);
        }
        Assert.Equal(["writing manifest", "success"], statuses[^2..]);

        var models = (await ollama.ListLocalModelsAsync()).ToList();
        var listed = Assert.Single(models);
        Assert.Equal("sharp:latest", listed.Name);
        Assert.Equal("llama", listed.Details.Family);
        Assert.Equal("F16", listed.Details.QuantizationLevel);
        Assert.Equal("3.41M", listed.Details.ParameterSize);

        var shown = await ollama.ShowModelAsync(new ShowModelRequest { Model = "sharp" });
        Assert.Equal("be brief", shown.System);
        Assert.Equal("llama", shown.Info.Architecture);
        Assert.Equal(3_410_176, shown.Info.ParameterCount);
        Assert.Contains("temperature                    0.25", shown.Parameters, StringComparison.Ordinal);
        Assert.Equal(["completion"], shown.Capabilities!.Select(c => c.ToString().ToLowerInvariant()));

        await ollama.CopyModelAsync(new CopyModelRequest { Source = "sharp", Destination = "sharp-copy" });
        Assert.Equal(["sharp-copy:latest", "sharp:latest"], (await ollama.ListLocalModelsAsync()).Select(m => m.Name).Order(StringComparer.Ordinal));

        await ollama.DeleteModelAsync(new DeleteModelRequest { Model = "sharp-copy" });
        Assert.Null(server.Store.TryGetManifest(ModelName.Parse("sharp-copy")));
        Assert.Empty(await ollama.ListRunningModelsAsync());
    }

    [Fact]
    public async Task OllamaSharp_sees_Ollamas_errors()
    {
        await using var server = await TestServer.StartAsync();
        using var ollama = new OllamaApiClient(server.Address);

        // OllamaSharp reports a failed show by its status alone.
        var missing = await Assert.ThrowsAsync<HttpRequestException>(() => ollama.ShowModelAsync(new ShowModelRequest { Model = "nope" }));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);

        // A 400 it reads the error of.
        var invalid = await Assert.ThrowsAsync<OllamaException>(() => ollama.DeleteModelAsync(new DeleteModelRequest { Model = "../../etc/passwd" }));
        Assert.Equal("name \"../../etc/passwd\" is invalid", invalid.Message);

        var create = await Assert.ThrowsAsync<HttpRequestException>(async () =>
        {
            await foreach (var _ in ollama.CreateModelAsync(new CreateModelRequest { Model = "x", From = "nope" }))
            {
            }
        });
        Assert.Equal(System.Net.HttpStatusCode.NotFound, create.StatusCode);
    }

    [Fact]
    public async Task OpenAI_client_lists_and_retrieves_models_and_reads_the_error_object()
    {
        await using var server = await TestServer.StartAsync();
        server.AddModel("tiny");
        server.AddModel("team/other:v2");
        var client = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") }).GetOpenAIModelClient();

        var models = (await client.GetModelsAsync()).Value;
        Assert.Equal(["team/other:v2", "tiny:latest"], models.Select(m => m.Id).Order(StringComparer.Ordinal));
        Assert.Equal(["library", "team"], models.Select(m => m.OwnedBy).Order(StringComparer.Ordinal));

        var model = (await client.GetModelAsync("team/other:v2")).Value;
        Assert.Equal("team/other:v2", model.Id);
        Assert.Equal("team", model.OwnedBy);
        var manifest = server.Store.ManifestPath(ModelName.Parse("team/other:v2"));
        Assert.Equal(new DateTimeOffset(File.GetLastWriteTimeUtc(manifest)).ToUnixTimeSeconds(), model.CreatedAt.ToUnixTimeSeconds());

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.GetModelAsync("nope"));
        Assert.Equal(404, error.Status);
        Assert.Contains("model 'nope' not found", error.Message, StringComparison.Ordinal);
    }
}
