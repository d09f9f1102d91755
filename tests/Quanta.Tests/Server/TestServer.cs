using System.Net.Http.Headers;
using System.Security.Cryptography;
using Quanta.Server;
using Quanta.Store;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Server;

/// <summary>
/// A real <see cref="QuantaServer"/> (Kestrel) on a free loopback port over a store of its own, its log lines collected,
/// and an <see cref="HttpClient"/> pointed at it. Tests drive it as clients do, over TCP.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    readonly TempDirectory _dir;
    readonly StringWriter _log;

    TestServer(TempDirectory dir, StringWriter log, QuantaServer server)
    {
        _dir = dir;
        _log = log;
        Server = server;
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public QuantaServer Server { get; }

    public HttpClient Http { get; }

    public Uri Address => Server.Address;

    public string StoreRoot => _dir.File("store");

    public ModelStore Store => new(StoreRoot);

    /// <summary>The server's log lines so far.</summary>
    public string Log => _log.ToString();

    public static async Task<TestServer> StartAsync(Func<ServerOptions, ServerOptions>? configure = null)
    {
        var dir = new TempDirectory();
        var log = new StringWriter();
        var options = new ServerOptions
        {
            StoreRoot = dir.File("store"),
            Listen = ListenAddress.Parse("127.0.0.1:0"),
            LogWriter = TextWriter.Synchronized(log),
        };
        options = configure?.Invoke(options) ?? options;
        var server = await QuantaServer.StartAsync(options);
        return new TestServer(dir, log, server);
    }

    /// <summary>Creates a model from the tiny fixture GGUF with the store's own creator (what <c>quanta create</c> runs).</summary>
    public Manifest AddModel(string name, string modelfileTail = "")
    {
        var gguf = _dir.File("tiny.gguf");
        if (!File.Exists(gguf))
        {
            File.Copy(CliRunner.TinyModel, gguf);
        }
        var modelfile = Modelfile.Parse($"FROM {gguf}\n{modelfileTail}");
        return ModelCreator.Create(Store, ModelName.Parse(name), modelfile, _dir.Path);
    }

    /// <summary>
    /// Creates a model from the trained tiny Llama (Q8_0, the file the repository ships), whose greedy text is
    /// llama.cpp's (<see cref="GreedyThePackage"/>).
    /// </summary>
    public Manifest AddTrainedModel(string name, string modelfileTail = "")
    {
        var modelfile = Modelfile.Parse($"FROM {Quanta.Tests.Inference.Models.TinyTrainedModel.ShippedQ8_0}\n{modelfileTail}");
        return ModelCreator.Create(Store, ModelName.Parse(name), modelfile, _dir.Path);
    }

    /// <summary>
    /// The 16 greedy tokens of the trained model after "The package", as llama.cpp's llama-simple printed them
    /// (<c>llama-simple -m tiny-llama-trained.Q8_0.gguf -n 16 "The package"</c>: the prompt's pieces, the text, a newline).
    /// </summary>
    public static string GreedyThePackage
    {
        get
        {
            var simple = File.ReadAllText(Path.Combine(Quanta.Tests.Inference.Models.TinyTrainedModel.Directory, "llama.cpp", "llama-simple.Q8_0.the-package.n16.txt"));
            Assert.StartsWith("<s> The package", simple, StringComparison.Ordinal);
            return simple["<s> The package".Length..^1];
        }
    }

    /// <summary>The fixture's bytes and their digest, for blob uploads.</summary>
    public static (byte[] Bytes, string Digest) Fixture()
    {
        var bytes = File.ReadAllBytes(CliRunner.TinyModel);
        return (bytes, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json) =>
        Http.PostAsync(path, new StringContent(json, new MediaTypeHeaderValue("application/json")));

    public Task<HttpResponseMessage> SendJsonAsync(HttpMethod method, string path, string json) =>
        Http.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(json, new MediaTypeHeaderValue("application/json")) });

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
        _dir.Dispose();
    }
}
