using System.Net;
using System.Text.Json;
using Quanta.Server.Scheduling;
using Quanta.Tests.Cli;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Server;

/// <summary>
/// Memory-aware unloading with an injected budget (<see cref="SchedulerOptions.MemoryBudget"/>): a model that does not
/// fit beside an idle one unloads it (least recently used first) though the count limit would allow both; a model
/// that cannot fit alone is refused with Ollama's 500 message; the estimate counts weights, KV cache and buffers.
/// </summary>
public sealed class MemoryAwareSchedulingTests
{
    const string Generate = """{"model": "MODEL", "prompt": "The", "stream": false, "options": {"temperature": 0, "num_predict": 2}}""";

    static long Estimate(string path) => ModelMemory.Estimate(path, 4096, new SchedulerOptions().NumParallel);

    [Fact]
    public void The_estimate_is_the_file_plus_the_kv_cache_of_every_sequence_plus_buffers()
    {
        var path = TinyTrainedModel.ShippedQ8_0;
        var file = new FileInfo(path).Length;
        var one = ModelMemory.Estimate(path, 64, 1);
        var four = ModelMemory.Estimate(path, 64, 4);
        Assert.True(one > file, $"{one} <= {file}");
        // Three more sequences of 64 cells: at least their KV cache more (F16 keys and values in every layer).
        Assert.True(four - one >= 3 * 64 * 2 * 2, $"{four} - {one}");
        Assert.Equal("4.5 GiB", ModelMemory.Human(4831838208));
        Assert.Equal("512.0 MiB", ModelMemory.Human(512L << 20));
        Assert.Equal("12 B", ModelMemory.Human(12));
        Assert.True(ModelMemory.Available() > 0);
    }

    [Fact]
    public async Task A_model_that_does_not_fit_beside_an_idle_one_unloads_it()
    {
        var trained = Estimate(TinyTrainedModel.ShippedQ8_0);
        var random = Estimate(CliRunner.TinyModel);
        var budget = Math.Max(trained, random) + (Math.Min(trained, random) / 2);
        await using var server = await TestServer.StartAsync(o => o with { Scheduler = new SchedulerOptions { MemoryBudget = budget, MaxLoadedModels = 3 } });
        server.AddTrainedModel("trained");
        server.AddModel("random");

        using (var first = await server.PostJsonAsync("/api/generate", Generate.Replace("MODEL", "trained", StringComparison.Ordinal)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        // An empty prompt loads the model.
        using (var second = await server.PostJsonAsync("/api/generate", """{"model": "random"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        }
        Assert.Contains("unloaded model trained:latest", server.Log, StringComparison.Ordinal);
        using var ps = await server.Http.GetAsync("/api/ps");
        var models = JsonDocument.Parse(await ps.Content.ReadAsStringAsync()).RootElement.GetProperty("models");
        Assert.Equal(["random:latest"], models.EnumerateArray().Select(m => m.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task A_model_that_cannot_fit_alone_is_refused_with_Ollama_s_message()
    {
        var trained = Estimate(TinyTrainedModel.ShippedQ8_0);
        await using var server = await TestServer.StartAsync(o => o with { Scheduler = new SchedulerOptions { MemoryBudget = trained - 1 } });
        server.AddTrainedModel("trained");

        using var response = await server.PostJsonAsync("/api/generate", Generate.Replace("MODEL", "trained", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.Equal($"model requires more system memory ({ModelMemory.Human(trained)}) than is available ({ModelMemory.Human(trained - 1)})", error);

        using var chat = await server.PostJsonAsync("/v1/chat/completions", """{"model": "trained", "messages": [{"role": "user", "content": "The"}]}""");
        Assert.Equal(HttpStatusCode.InternalServerError, chat.StatusCode);
        Assert.Contains("model requires more system memory", await chat.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
