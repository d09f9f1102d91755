using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Quanta.Conversion;
using Quanta.Quantization;
using Quanta.Server.Http;
using Quanta.Store;

namespace Quanta.Server.Ollama;

/// <summary>
/// <c>POST /api/create</c> as Ollama's CreateHandler (server/create.go) takes it: <c>from</c> (a model in the store) or
/// <c>files</c> (relative names → digests of blobs uploaded with <c>POST /api/blobs</c>: GGUF files, or a Hugging Face
/// checkpoint's files, which are converted), <c>adapters</c>, <c>template</c>, <c>system</c>, <c>parameters</c>,
/// <c>messages</c>, <c>license</c>, <c>renderer</c>, <c>parser</c>, <c>requires</c> and <c>quantize</c> (any preset
/// <c>quanta quantize</c> has). The request becomes Modelfile instructions for the same <see cref="ModelCreator"/>
/// <c>quanta create</c> runs, and its status lines (<c>creating new layer sha256:…</c>, <c>writing manifest</c>,
/// <c>success</c>) are streamed as NDJSON, or only the last one with <c>"stream": false</c>. Files are only ever blobs
/// of the store: a file name must be relative without <c>..</c>, a digest must be a digest, and <c>from</c> must be a
/// model name, so a request cannot make the server read a path of its choosing.
/// </summary>
internal static partial class CreateEndpoint
{
    public static void Map(IEndpointRouteBuilder routes) => routes.MapPost("/api/create", CreateAsync);

    static async Task CreateAsync(HttpContext context)
    {
        var request = await ApiJson.ReadAsync(context, OllamaJson.Default.CreateRequest).ConfigureAwait(false);
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CreateEndpoint));
        foreach (var (path, digest) in (request.Files ?? []).Concat(request.Adapters ?? []))
        {
            if (!IsValidRelativePath(path))
            {
                throw ApiException.BadRequest("file path must be relative");
            }
            if (!Digests.IsValid(digest))
            {
                throw ApiException.BadRequest("invalid digest format");
            }
        }
        var name = ModelNames.Parse(string.IsNullOrEmpty(request.Model) ? request.Name : request.Model);
        var quantizeName = string.IsNullOrEmpty(request.Quantize) ? request.Quantization : request.Quantize;
        QuantizationPreset? preset = null;
        if (!string.IsNullOrEmpty(quantizeName) && !QuantizationPresets.TryParse(quantizeName, out preset))
        {
            throw ApiException.BadRequest($"unsupported quantization type {quantizeName.ToUpperInvariant()}; run 'quanta types' for the supported types");
        }

        string? checkpointDirectory = null;
        try
        {
            var instructions = Instructions(request, store, name, ref checkpointDirectory);
            Modelfile modelfile;
            try
            {
                modelfile = Modelfile.FromInstructions(instructions);
            }
            catch (ModelfileException e)
            {
                throw ApiException.BadRequest(e.Message, e);
            }
            await RunAsync(context, store, name, modelfile, preset, request.Stream ?? true, logger).ConfigureAwait(false);
        }
        finally
        {
            if (checkpointDirectory is not null)
            {
                TryDeleteDirectory(checkpointDirectory);
            }
        }
    }

    /// <summary>Go's <c>fs.ValidPath</c>: slash-separated, not rooted, no empty, <c>.</c> or <c>..</c> element; and no backslash.</summary>
    internal static bool IsValidRelativePath(string path) =>
        path == "." || path.Length > 0 && !path.Contains('\\', StringComparison.Ordinal) && !path.Contains('\0', StringComparison.Ordinal)
            && path.Split('/').All(e => e.Length > 0 && e != "." && e != "..");

    static List<ModelfileInstruction> Instructions(CreateRequest request, ModelStore store, ModelName name, ref string? checkpointDirectory)
    {
        var instructions = new List<ModelfileInstruction>();
        if (!string.IsNullOrEmpty(request.From))
        {
            if (!ModelName.TryParse(request.From, out var from))
            {
                throw ApiException.BadRequest("invalid model name");
            }
            // The full name: it can never be taken for a file, whatever the working directory holds.
            instructions.Add(new(ModelfileCommand.From, null, from!.ToString()));
        }
        else if (request.Files is { Count: > 0 } files)
        {
            if (files.Keys.Any(f => f.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)))
            {
                checkpointDirectory = Path.Combine(store.Root, $".quanta-create.{Guid.NewGuid():N}");
                instructions.Add(new(ModelfileCommand.From, null, LinkCheckpoint(store, files, Path.Combine(checkpointDirectory, name.Model))));
            }
            else
            {
                // One model file, and a projector after it if the client sent one (a second FROM).
                instructions.AddRange(files.Values.Select(digest => new ModelfileInstruction(ModelfileCommand.From, null, ExistingBlob(store, digest))));
            }
        }
        else
        {
            throw ApiException.BadRequest(request.Files is null ? "neither 'from' or 'files' was specified" : "no files provided to convert");
        }
        foreach (var digest in (request.Adapters ?? []).Values)
        {
            instructions.Add(new(ModelfileCommand.Adapter, null, ExistingBlob(store, digest)));
        }
        AddText(instructions, ModelfileCommand.Template, request.Template);
        AddText(instructions, ModelfileCommand.System, request.System);
        AddText(instructions, ModelfileCommand.Renderer, request.Renderer);
        AddText(instructions, ModelfileCommand.Parser, request.Parser);
        AddText(instructions, ModelfileCommand.Requires, request.Requires);
        foreach (var (key, value) in request.Parameters ?? [])
        {
            foreach (var text in ParameterValues(key, value))
            {
                instructions.Add(new(ModelfileCommand.Parameter, key, text));
            }
        }
        foreach (var message in request.Messages ?? [])
        {
            instructions.Add(new(ModelfileCommand.Message, message.Role, message.Content));
        }
        foreach (var license in Licenses(request.License))
        {
            instructions.Add(new(ModelfileCommand.License, null, license));
        }
        return instructions;
    }

    static void AddText(List<ModelfileInstruction> instructions, ModelfileCommand command, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            instructions.Add(new(command, null, value));
        }
    }

    /// <summary>A parameter's JSON value as PARAMETER values: a list is one line per item, as Ollama's FormatParams reads them.</summary>
    static IEnumerable<string> ParameterValues(string key, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => [value.GetString()!],
        JsonValueKind.Number => [value.GetRawText()],
        JsonValueKind.True => ["true"],
        JsonValueKind.False => ["false"],
        JsonValueKind.Array => value.EnumerateArray().SelectMany(item => ParameterValues(key, item)),
        _ => throw ApiException.BadRequest($"parameter {key}: a {value.ValueKind.ToString().ToLowerInvariant()} is not a parameter value"),
    };

    /// <summary><c>license</c> is a string or a list of strings.</summary>
    static IEnumerable<string> Licenses(JsonElement? license) => license switch
    {
        null => [],
        { ValueKind: JsonValueKind.Null } => [],
        { ValueKind: JsonValueKind.String } s => s.GetString() is { Length: > 0 } text ? [text] : [],
        { ValueKind: JsonValueKind.Array } a when a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => [.. a.EnumerateArray().Select(e => e.GetString()!)],
        _ => throw ApiException.BadRequest("license must be a string or a list of strings"),
    };

    /// <summary>The path of an uploaded blob; 400 when it is not in the store.</summary>
    static string ExistingBlob(ModelStore store, string digest)
    {
        var path = store.BlobPath(digest);
        return File.Exists(path)
            ? path
            : throw ApiException.BadRequest($"blob {digest} not found: upload it first with POST /api/blobs/{digest}");
    }

    /// <summary>
    /// A checkpoint's files, named as the client named them, as links to their blobs in <paramref name="directory"/>
    /// (inside the store; Ollama links them the same way), for the converter to read as a checkpoint directory. The
    /// folder is named after the model, which the converter takes for <c>general.name</c>.
    /// </summary>
    static string LinkCheckpoint(ModelStore store, Dictionary<string, string> files, string directory)
    {
        foreach (var (path, digest) in files)
        {
            var link = Path.GetFullPath(Path.Combine(directory, path));
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, ExistingBlob(store, digest));
        }
        return directory;
    }

    static void TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Links only: nothing of value is left behind.
        }
    }

    /// <summary>
    /// Runs the create on a thread-pool thread (it reads, hashes and may quantize gigabytes) after taking the store's
    /// writer lock without holding a thread; its status lines go through a channel to the response as they come.
    /// </summary>
    static async Task RunAsync(HttpContext context, ModelStore store, ModelName name, Modelfile modelfile, QuantizationPreset? preset, bool stream, ILogger logger)
    {
        var cancellation = context.RequestAborted;
        var lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        var options = new CreateOptions
        {
            Quantize = preset,
            Status = line => lines.Writer.TryWrite(line),
            Warning = line => LogWarning(logger, line),
        };
        var creation = Task.Run(async () =>
        {
            try
            {
                using (await store.EnterWriterAsync(cancellation).ConfigureAwait(false))
                {
                    // The creator takes the shared lock again itself, which a holder of it always gets at once.
                    ModelCreator.Create(store, name, modelfile, store.Root, options, cancellation);
                }
            }
            finally
            {
                lines.Writer.TryComplete();
            }
        }, cancellation);

        var output = new NdjsonStream(context);
        var last = "";
        try
        {
            await foreach (var line in lines.Reader.ReadAllAsync(cancellation).ConfigureAwait(false))
            {
                last = line;
                if (stream)
                {
                    await output.WriteAsync(new ProgressResponse { Status = line }, OllamaJson.Default.ProgressResponse).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            // The client went away: the create stops at its next check; wait for it to have cleaned up (its blobs,
            // the lock) before the request ends and the checkpoint links go.
            await creation.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }
        try
        {
            await creation.ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellation.IsCancellationRequested && StatusOf(e) is { } status)
        {
            if (status >= StatusCodes.Status500InternalServerError)
            {
                LogFailed(logger, name.DisplayShortest, e);
            }
            await output.WriteErrorAsync(status, e.Message).ConfigureAwait(false);
            return;
        }
        if (!stream)
        {
            await ApiJson.WriteAsync(context, new ProgressResponse { Status = last }, OllamaJson.Default.ProgressResponse).ConfigureAwait(false);
        }
    }

    /// <summary>400 for what the request asked that cannot be done; 404 for a <c>from</c> model that does not exist; 500 otherwise.</summary>
    static int? StatusOf(Exception e) => e switch
    {
        ApiException api => api.StatusCode,
        ModelNotFoundException => StatusCodes.Status404NotFound,
        ModelfileException or QuantizationException or ConversionException or ArgumentException or Formats.FileFormatException => StatusCodes.Status400BadRequest,
        OperationCanceledException => null,
        _ => StatusCodes.Status500InternalServerError,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "create: {Warning}")]
    static partial void LogWarning(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Error, Message = "create {Model} failed")]
    static partial void LogFailed(ILogger logger, string model, Exception exception);
}
