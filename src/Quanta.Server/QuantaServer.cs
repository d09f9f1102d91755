using System.Net;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quanta.Server.Http;
using Quanta.Server.Logging;
using Quanta.Server.Ollama;
using Quanta.Server.OpenAi;
using Quanta.Server.Scheduling;
using Quanta.Store;

namespace Quanta.Server;

/// <summary>
/// The HTTP server of <c>quanta serve</c>: Kestrel on one address, the Ollama and OpenAI routes over one store. Built from
/// an empty host (no configuration files, no environment-driven settings beyond <see cref="ServerOptions"/>), so that
/// what it does is what the options say. Requests pass, in order: the access log, the error mapping, CORS, the
/// host check, routing, the body limit, the endpoint.
/// </summary>
public sealed partial class QuantaServer : IAsyncDisposable
{
    /// <summary>How long a stop waits for requests in progress before it cuts them off.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    readonly WebApplication _app;

    QuantaServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Where the server listens, with the port it got (a request for port 0 gets a free one).</summary>
    public Uri Address { get; }

    /// <summary>Starts listening; the server answers until <see cref="StopAsync"/>.</summary>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    public static async Task<QuantaServer> StartAsync(ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var bind = options.Listen.ResolveBindAddress();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "quanta" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(bind, options.Listen.Port);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
        });
        builder.Services.AddRoutingCore();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(options.LogLevel);
            // ASP.NET's own request lines would repeat ours; its warnings and errors still show.
            logging.AddFilter("Microsoft", LogLevel.Warning);
            logging.AddProvider(new LogfmtLoggerProvider(options.LogWriter ?? Console.Error, stackTraces: options.LogLevel <= LogLevel.Debug));
        });
        var store = new ModelStore(options.StoreRoot);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<ModelSummaries>();
        builder.Services.AddSingleton(new OriginPolicy(options.Origins));
        builder.Services.AddSingleton(options.Scheduler);
        builder.Services.AddSingleton<ModelScheduler>();

        var app = builder.Build();
        app.UseMiddleware<RequestLogMiddleware>();
        app.UseMiddleware<ApiErrorMiddleware>();
        app.UseStatusCodePages(EmptyErrorAsync);
        app.UseMiddleware<CorsMiddleware>();
        app.UseMiddleware<HostCheckMiddleware>(IPAddress.IsLoopback(bind));
        app.UseRouting();
        app.UseMiddleware<BodyLimitMiddleware>();
        StoreEndpoints.Map(app);
        BlobEndpoints.Map(app);
        CreateEndpoint.Map(app);
        ModelsEndpoints.Map(app);
        GenerateEndpoint.Map(app);
        ChatEndpoint.Map(app);
        ChatCompletionsEndpoint.Map(app);
        CompletionsEndpoint.Map(app);
        EmbedEndpoint.Map(app);
        Ollama.EmbeddingsEndpoint.Map(app);
        OpenAi.EmbeddingsEndpoint.Map(app);

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"cannot listen on {options.Listen}: {e.Message}", e);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var server = new QuantaServer(app, new Uri(bound));
        var logger = app.Services.GetRequiredService<ILogger<QuantaServer>>();
        if (options.Listen.Warning is { } warning)
        {
            LogWarning(logger, warning);
        }
        LogListening(logger, server.Address.ToString().TrimEnd('/'), store.Root, ServerOptions.OllamaApiVersion);
        return server;
    }

    /// <summary>
    /// A response that ended in an error status without a body (no route: 404; a route without that method: 405)
    /// still says what happened in the API's shape, with gin's words.
    /// </summary>
    static Task EmptyErrorAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var code = context.Response.StatusCode;
        if (HttpMethods.IsHead(context.Request.Method) || code == ApiErrors.ClientClosedRequest)
        {
            return Task.CompletedTask;
        }
        var message = code switch
        {
            StatusCodes.Status404NotFound => "404 page not found",
            StatusCodes.Status405MethodNotAllowed => "405 method not allowed",
            _ => ReasonPhrases(code),
        };
        return ApiErrors.WriteAsync(context, code, message);
    }

    static string ReasonPhrases(int code) => $"{code} {Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(code).ToLowerInvariant()}";

    /// <summary>
    /// Stops accepting connections, cancels the generations in progress (each ends its answer with an error line),
    /// lets the other requests finish for up to <see cref="ShutdownTimeout"/>, then ends them and unloads every model.
    /// </summary>
    public async Task StopAsync()
    {
        using var timeout = new CancellationTokenSource(ShutdownTimeout);
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        await _app.Services.GetRequiredService<ModelScheduler>().DisposeAsync().ConfigureAwait(false);
        LogStopped(_app.Services.GetRequiredService<ILogger<QuantaServer>>());
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [LoggerMessage(Level = LogLevel.Information, Message = "Quanta is listening on {Address} (store {Store}, Ollama API {Version})")]
    static partial void LogListening(ILogger logger, string address, string store, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Quanta stopped")]
    static partial void LogStopped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    static partial void LogWarning(ILogger logger, string warning);
}
