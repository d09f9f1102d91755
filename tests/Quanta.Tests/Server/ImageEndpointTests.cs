using System.Net;
using System.Text.Json;
using Quanta.Formats;
using Quanta.Inference.Vision;
using Quanta.Store;
using Quanta.Tests.Inference.Vision;

namespace Quanta.Tests.Server;

/// <summary>
/// Pictures over the wire: Ollama's <c>images</c> (base64) in <c>/api/chat</c> messages and <c>/api/generate</c>, and
/// OpenAI's <c>image_url</c> data URLs, for a stored model with a projector layer (the trained tiny llama, whose width
/// is 256, and a tiny CLIP projector to 256): each answers, and the prompt evaluated holds the picture's 16 positions;
/// a picture that is not one is the request's error.
/// </summary>
public sealed class ImageEndpointTests
{
    static async Task<TestServer> StartWithEyesAsync()
    {
        var server = await TestServer.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), "quanta-eyes-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var projector = TinyVisionFiles.WriteLlava(Path.Combine(directory, "mmproj-tiny.gguf"), GgmlType.F16, projection: 256);
        var modelfile = Modelfile.Parse($"FROM {Quanta.Tests.Inference.Models.TinyTrainedModel.ShippedQ8_0}\nFROM {projector}");
        ModelCreator.Create(server.Store, ModelName.Parse("eyes"), modelfile, directory);
        return server;
    }

    static string Png()
    {
        var path = Path.Combine(Path.GetTempPath(), "quanta-eyes-" + Guid.NewGuid().ToString("N")[..8] + ".png");
        LlavaOracleTests.SavePng(TestPatterns.Create("rings", 40, 24), path);
        var base64 = Convert.ToBase64String(File.ReadAllBytes(path));
        File.Delete(path);
        return base64;
    }

    [Fact]
    public async Task Chat_generate_and_openai_take_pictures_for_a_model_with_a_projector()
    {
        await using var server = await StartWithEyesAsync();
        var png = Png();
        const string options = """{"temperature": 0, "num_predict": 4}""";

        using var chat = await server.PostJsonAsync("/api/chat", $$"""{"model": "eyes", "stream": false, "options": {{options}}, "messages": [{"role": "user", "content": "The package", "images": ["{{png}}"]}]}""");
        var chatBody = await chat.Content.ReadAsStringAsync();
        Assert.True(chat.StatusCode == HttpStatusCode.OK, chatBody);
        var chatJson = JsonDocument.Parse(chatBody).RootElement;
        // BOS, the picture's 16 rows, "▁The", "▁package".
        Assert.Equal(19, chatJson.GetProperty("prompt_eval_count").GetInt32());

        using var generate = await server.PostJsonAsync("/api/generate", $$"""{"model": "eyes", "stream": false, "options": {{options}}, "prompt": "The package", "images": ["{{png}}"]}""");
        var generateBody = await generate.Content.ReadAsStringAsync();
        Assert.True(generate.StatusCode == HttpStatusCode.OK, generateBody);
        Assert.True(JsonDocument.Parse(generateBody).RootElement.GetProperty("prompt_eval_count").GetInt32() >= 16 + 3);

        using var openai = await server.PostJsonAsync("/v1/chat/completions", $$$"""{"model": "eyes", "max_tokens": 4, "temperature": 0, "messages": [{"role": "user", "content": [{"type": "text", "text": "The package"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,{{{png}}}"}}]}]}""");
        var openaiBody = await openai.Content.ReadAsStringAsync();
        Assert.True(openai.StatusCode == HttpStatusCode.OK, openaiBody);
        // The prompt cache still holds BOS from the requests before (a picture's positions are never reused).
        Assert.Equal(18, JsonDocument.Parse(openaiBody).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        using var notAPicture = await server.PostJsonAsync("/api/chat", $$"""{"model": "eyes", "stream": false, "messages": [{"role": "user", "content": "x", "images": ["AAAA"]}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, notAPicture.StatusCode);
        Assert.Contains("image 0", await notAPicture.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
