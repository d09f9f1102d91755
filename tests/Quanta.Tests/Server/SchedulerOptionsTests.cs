using System.Text.Json;
using Quanta.Server.Scheduling;

namespace Quanta.Tests.Server;

/// <summary><c>keep_alive</c> and the scheduler's variables, read as Ollama reads them (api.Duration, envconfig).</summary>
public sealed class SchedulerOptionsTests
{
    [Theory]
    [InlineData("300", 300.0)]
    [InlineData("1.5", 1.5)]
    [InlineData("0", 0.0)]
    [InlineData("\"5m\"", 300.0)]
    [InlineData("\"1h30m\"", 5400.0)]
    [InlineData("\"250ms\"", 0.25)]
    [InlineData("\"0\"", 0.0)]
    public void Keep_alive_is_seconds_or_a_Go_duration(string json, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), KeepAlive.FromJson(JsonDocument.Parse(json).RootElement));

    [Theory]
    [InlineData("-1")]
    [InlineData("\"-1s\"")]
    [InlineData("\"-5m\"")]
    public void A_negative_keep_alive_is_forever(string json) =>
        Assert.Equal(Timeout.InfiniteTimeSpan, KeepAlive.FromJson(JsonDocument.Parse(json).RootElement));

    [Fact]
    public void Absent_or_null_keep_alive_is_the_server_s()
    {
        Assert.Null(KeepAlive.FromJson(null));
        Assert.Null(KeepAlive.FromJson(JsonDocument.Parse("null").RootElement));
        Assert.Equal("time: invalid duration \"5\"", Assert.Throws<FormatException>(() => KeepAlive.FromJson(JsonDocument.Parse("\"5\"").RootElement)).Message);
        Assert.Throws<FormatException>(() => KeepAlive.FromJson(JsonDocument.Parse("true").RootElement));
    }

    [Fact]
    public void The_environment_sets_keep_alive_loaded_models_queue_and_parallel()
    {
        var defaults = SchedulerOptions.FromEnvironment(_ => null);
        Assert.Equal(TimeSpan.FromMinutes(5), defaults.KeepAlive);
        Assert.Equal(3, defaults.MaxLoadedModels);
        Assert.Equal(512, defaults.MaxQueue);
        Assert.Equal(4, defaults.NumParallel);

        var set = new Dictionary<string, string>
        {
            ["QUANTA_KEEP_ALIVE"] = "600",
            ["QUANTA_MAX_LOADED_MODELS"] = "1",
            ["QUANTA_MAX_QUEUE"] = "8",
            ["QUANTA_NUM_PARALLEL"] = "2",
        };
        var options = SchedulerOptions.FromEnvironment(name => set.GetValueOrDefault(name));
        Assert.Equal(TimeSpan.FromMinutes(10), options.KeepAlive);
        Assert.Equal((1, 8, 2), (options.MaxLoadedModels, options.MaxQueue, options.NumParallel));
        Assert.Equal(Timeout.InfiniteTimeSpan, SchedulerOptions.FromEnvironment(n => n == "QUANTA_KEEP_ALIVE" ? "-1" : null).KeepAlive);
        Assert.Equal(TimeSpan.FromHours(2), SchedulerOptions.FromEnvironment(n => n == "QUANTA_KEEP_ALIVE" ? "2h" : null).KeepAlive);
        Assert.Equal("QUANTA_MAX_QUEUE: \"lots\" is not a whole number",
            Assert.Throws<FormatException>(() => SchedulerOptions.FromEnvironment(n => n == "QUANTA_MAX_QUEUE" ? "lots" : null)).Message);
    }
}
