using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Quanta.Formats.Gguf;
using Quanta.Inference.Chat;
using Quanta.Inference.Sampling.Grammar;
using Quanta.Server.Http;
using Quanta.Server.Ollama;
using Quanta.Server.Scheduling;
using Quanta.Store;
using Quanta.Templates.Ollama;

namespace Quanta.Server.Generation;

/// <summary>
/// What the generation endpoints share: the stored model a request names, its options, <c>think</c>, <c>format</c>,
/// messages and tools as the chat engine takes them, the refusal of images for a model that cannot see, and which
/// exceptions are the request's fault (400) and which the server's (500).
/// </summary>
internal static class RequestMapping
{
    /// <summary>The stored model <paramref name="requested"/> names.</summary>
    /// <exception cref="ApiException">400 for a missing or invalid name, 404 for an unknown model (Ollama's words).</exception>
    public static StoredModel Load(HttpContext context, string? requested)
    {
        var name = ModelNames.Parse(requested);
        var store = context.RequestServices.GetRequiredService<ModelStore>();
        try
        {
            return StoredModel.Load(store, name);
        }
        catch (ModelNotFoundException e)
        {
            throw ApiException.NotFound($"model '{requested}' not found", e);
        }
    }

    public static ModelScheduler Scheduler(HttpContext context) => context.RequestServices.GetRequiredService<ModelScheduler>();

    /// <summary>
    /// A token cancelled when the client goes away or the server stops: a generation ends at once in either case.
    /// </summary>
    public static CancellationTokenSource Cancellation(HttpContext context)
    {
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        return CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
    }

    /// <summary>The server is stopping (not the client gone): what a generation cut short by it says.</summary>
    public static bool IsStopping(HttpContext context) =>
        !context.RequestAborted.IsCancellationRequested
        && context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested;

    public const string StoppingMessage = "the server is shutting down";

    /// <summary>The request's <c>keep_alive</c>.</summary>
    /// <exception cref="ApiException">400 for a value that is neither seconds nor a duration.</exception>
    public static TimeSpan? KeepAliveOf(JsonElement? value)
    {
        try
        {
            return KeepAlive.FromJson(value);
        }
        catch (FormatException e)
        {
            throw ApiException.BadRequest(e.Message, e);
        }
    }

    /// <summary>Ollama's request <c>options</c> as the engine takes them.</summary>
    public static List<KeyValuePair<string, JsonNode?>> Options(Dictionary<string, JsonElement>? options) =>
        options is null ? [] : [.. options.Select(o => new KeyValuePair<string, JsonNode?>(o.Key, JsonNode.Parse(o.Value.GetRawText())))];

    /// <summary>Ollama's <c>think</c>: true/false or a level.</summary>
    /// <exception cref="ApiException">400 for anything else (Ollama's message).</exception>
    public static ThinkSetting? Think(JsonElement? value)
    {
        if (value is not { } v || v.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }
        return v.ValueKind switch
        {
            JsonValueKind.True or JsonValueKind.False => ThinkSetting.FromBool(v.GetBoolean()),
            JsonValueKind.String when v.GetString() is "high" or "medium" or "low" => ThinkSetting.FromLevel(v.GetString()!),
            JsonValueKind.String when v.GetString() is "true" or "false" => ThinkSetting.FromBool(v.GetString() == "true"),
            _ => throw ApiException.BadRequest($"invalid think value: {v.GetRawText()} (must be \"high\", \"medium\", \"low\", true, or false)"),
        };
    }

    /// <summary>Ollama's <c>format</c> as raw JSON, or null.</summary>
    public static string? Format(JsonElement? value) =>
        value is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } v ? v.GetRawText() : null;

    /// <summary>
    /// Checks what can be checked before the model is loaded: the options' types and the format, so that a bad request
    /// is a 400 and never a half-written stream.
    /// </summary>
    /// <exception cref="ApiException">400.</exception>
    public static void Validate(Inference.Chat.ChatRequest request)
    {
        try
        {
            _ = ChatParameters.Defaults.With(request.Options);
            _ = OutputFormat.FromOllamaFormat(request.Format);
        }
        catch (Exception e) when (IsRequestError(e))
        {
            throw ApiException.BadRequest(e.Message, e);
        }
    }

    /// <summary>An exception that says what is wrong with the request, not with the server.</summary>
    public static bool IsRequestError(Exception e) =>
        e is ChatException or FormatException or JsonSchemaConversionException or GbnfFormatException;

    /// <summary>The status an exception of a generation answers with, before the answer has started.</summary>
    public static ApiException ToApiException(Exception e) => e switch
    {
        ApiException api => api,
        _ when IsRequestError(e) => ApiException.BadRequest(e.Message, e),
        _ => new ApiException(StatusCodes.Status500InternalServerError, e.Message, e),
    };

    /// <summary>
    /// Refuses images for a model that has no vision tower or projector (Ollama's capability check). A model with one
    /// gets them: the session encodes them and puts their embeddings where the prompt's <c>[img-N]</c> tags are.
    /// </summary>
    /// <exception cref="ApiException">400.</exception>
    public static void CheckImages(StoredModel model, string requested, bool hasImages)
    {
        if (!hasImages)
        {
            return;
        }
        using var file = GgufFile.Open(model.ModelPath);
        if (!ModelCapabilities.Of(model, file.Metadata).Contains(ModelCapabilities.Vision))
        {
            throw ApiException.BadRequest($"\"{requested}\" does not support images: it has no vision encoder");
        }
    }

    /// <summary>Ollama's messages as the template sees them.</summary>
    /// <exception cref="ApiException">400 for a tool call whose arguments are not an object.</exception>
    public static List<PromptMessage> Messages(IEnumerable<Message> messages) =>
        [.. messages.Select(m => new PromptMessage(m.Role, m.Content)
        {
            Thinking = m.Thinking ?? "",
            Images = m.Images ?? [],
            ToolName = m.ToolName ?? "",
            ToolCallID = m.ToolCallId ?? "",
            ToolCalls = m.ToolCalls is null ? [] : [.. m.ToolCalls.Select((c, i) => ToolCall(c.Id ?? "", c.Function.Index, c.Function.Name, c.Function.Arguments))],
        })];

    /// <summary>A tool call of an assistant message (arguments as a JSON object).</summary>
    public static PromptToolCall ToolCall(string id, int index, string name, JsonElement arguments)
    {
        var values = new PromptToolArguments();
        if (arguments.ValueKind == JsonValueKind.Object)
        {
            foreach (var argument in arguments.EnumerateObject())
            {
                values[argument.Name] = GoValue(argument.Value);
            }
        }
        else if (arguments.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
        {
            throw ApiException.BadRequest($"tool call '{name}': arguments must be a JSON object");
        }
        return new PromptToolCall(id, new PromptToolCallFunction(index, name, values));
    }

    /// <summary>The request's tools as the template sees them (<c>.Tools</c>); null when it has none.</summary>
    public static List<PromptTool>? Tools(IReadOnlyList<Tool>? tools) =>
        tools is null || tools.Count == 0 ? null : [.. tools.Select(Tool)];

    static PromptTool Tool(Tool tool)
    {
        var parameters = tool.Function.Parameters;
        var hasProperties = parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object;
        var properties = new PromptToolProperties { IsAbsent = !hasProperties };
        if (hasProperties)
        {
            foreach (var p in parameters.GetProperty("properties").EnumerateObject())
            {
                properties[p.Name] = Property(p.Value);
            }
        }
        string Text(JsonElement e, string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        object? Value(JsonElement e, string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? GoValue(v) : null;
        return new PromptTool(tool.Type, new PromptToolFunction(
            tool.Function.Name,
            tool.Function.Description ?? "",
            new PromptToolParameters(Text(parameters, "type"), properties)
            {
                Required = Strings(parameters, "required"),
                Defs = Value(parameters, "$defs"),
                Items = Value(parameters, "items"),
            }))
        {
            Items = tool.Items is { } items ? GoValue(items) : null,
        };
    }

    static PromptToolProperty Property(JsonElement p)
    {
        var type = new PromptPropertyType();
        if (p.ValueKind != JsonValueKind.Object)
        {
            return new PromptToolProperty();
        }
        if (p.TryGetProperty("type", out var t))
        {
            if (t.ValueKind == JsonValueKind.String)
            {
                type.Add(t.GetString()!);
            }
            else if (t.ValueKind == JsonValueKind.Array)
            {
                type.AddRange(t.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!));
            }
        }
        return new PromptToolProperty
        {
            Type = type,
            Description = p.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "",
            Items = p.TryGetProperty("items", out var items) ? GoValue(items) : null,
            Enum = p.TryGetProperty("enum", out var e) && e.ValueKind == JsonValueKind.Array ? [.. e.EnumerateArray().Select(GoValue)] : [],
            AnyOf = p.TryGetProperty("anyOf", out var any) && any.ValueKind == JsonValueKind.Array ? [.. any.EnumerateArray().Select(Property)] : [],
            Required = Strings(p, "required"),
        };
    }

    static List<string> Strings(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!)]
            : [];

    /// <summary>JSON as Go's encoding/json decodes it into an <c>any</c>.</summary>
    static object? GoValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().GroupBy(p => p.Name).ToDictionary(g => g.Key, g => GoValue(g.Last().Value)),
        JsonValueKind.Array => e.EnumerateArray().Select(GoValue).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    /// <summary>The tool-call parser for a request with tools (the tag from a Go template; <c>{</c> otherwise).</summary>
    public static ToolCallParser? ToolParser(ChatSession session, IReadOnlyList<PromptTool>? tools) =>
        tools is null ? null
        : new ToolCallParser(tools.Select(t => t.Function.Name), session.TemplateSource.Language == TemplateLanguage.Go
            ? ToolCallParser.TagOf(Templates.OllamaTemplate.Parse(session.TemplateSource.Text))
            : "{");

    /// <summary>A parsed call as Ollama's <c>api.ToolCall</c>, with an id as Ollama gives one (<c>call_</c> and 8 characters).</summary>
    public static ToolCall ToOllama(ParsedToolCall call) => new()
    {
        Id = CallId(),
        Function = new ToolCallFunction
        {
            Index = call.Index,
            Name = call.Name,
            Arguments = JsonDocument.Parse(call.Arguments.ToJsonString()).RootElement.Clone(),
        },
    };

    static string CallId()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        return "call_" + string.Create(8, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
            }
        });
    }
}
