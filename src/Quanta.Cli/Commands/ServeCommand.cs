using System.CommandLine;
using Quanta.Server;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta serve</c>: the Ollama and OpenAI HTTP APIs over the store, as <c>ollama serve</c> starts them. It listens
/// on <c>QUANTA_HOST</c> (default 127.0.0.1:11434; <c>--host</c> wins over it), serves the models of
/// <c>QUANTA_MODELS</c> or <c>--store</c>, logs one line per request on stderr, and runs until Ctrl+C or SIGTERM, which
/// stop it gracefully (requests in progress get a few seconds to finish) with exit code 0.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(CliContext context)
    {
        var store = StoreArguments.StoreOption();
        var host = new Option<string>("--host")
        {
            Description = $"Address to listen on, as {ListenAddress.Variable} or OLLAMA_HOST: [scheme://]host[:port] (default 127.0.0.1:11434)",
            HelpName = "ADDRESS",
        };
        var command = new Command("serve", "Serve the Ollama and OpenAI HTTP APIs over the model store (ollama serve)") { store, host };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            ServerOptions options;
            try
            {
                options = ServerOptions.FromEnvironment(StoreArguments.Open(parseResult, store).Root) with { LogWriter = context.Error };
            }
            catch (FormatException e)
            {
                throw new UserErrorException(e.Message, e);
            }
            if (parseResult.GetValue(host) is { } address)
            {
                options = options with { Listen = ListenAddress.Parse(address) };
            }
            QuantaServer server;
            try
            {
                server = await QuantaServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new UserErrorException(e.Message, e);
            }
            await using (server.ConfigureAwait(false))
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C or SIGTERM: the normal way for a server to end.
                }
                await server.StopAsync().ConfigureAwait(false);
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
