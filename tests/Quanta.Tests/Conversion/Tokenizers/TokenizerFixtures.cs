using System.IO.Compression;

namespace Quanta.Tests.Conversion.Tokenizers;

/// <summary>
/// Builds throw-away checkpoint directories from Fixtures/tokenizer: the real Llama 2 tokenizer files plus a
/// model's config.json, or the Qwen3 tokenizer (stored gzip-compressed to keep the repository small).
/// </summary>
internal sealed class TokenizerFixtures : IDisposable
{
    public static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizer");

    public TokenizerFixtures()
    {
        Directory = Path.Combine(Path.GetTempPath(), "quanta-tokenizer-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    /// <summary>A checkpoint directory for one of the golden models (llama, mistral, gemma, phi3).</summary>
    public static TokenizerFixtures Golden(string model)
    {
        var fixture = new TokenizerFixtures();
        foreach (var name in new[] { "tokenizer.model", "tokenizer.json", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(Root, name), Path.Combine(fixture.Directory, name));
        }
        File.Copy(Path.Combine(Root, model, "config.json"), Path.Combine(fixture.Directory, "config.json"));
        return fixture;
    }

    /// <summary>The Qwen3 tokenizer with a Qwen3-0.6B-style config.json (vocab 151936, bos/eos ids).</summary>
    public static TokenizerFixtures Qwen3()
    {
        var fixture = new TokenizerFixtures();
        using (var source = File.OpenRead(Path.Combine(Root, "qwen3", "tokenizer.json.gz")))
        using (var gzip = new GZipStream(source, CompressionMode.Decompress))
        using (var target = File.Create(Path.Combine(fixture.Directory, "tokenizer.json")))
        {
            gzip.CopyTo(target);
        }
        File.Copy(Path.Combine(Root, "qwen3", "tokenizer_config.json"), Path.Combine(fixture.Directory, "tokenizer_config.json"));
        File.WriteAllText(Path.Combine(fixture.Directory, "config.json"),
            """{"architectures": ["Qwen3ForCausalLM"], "vocab_size": 151936, "bos_token_id": 151643, "eos_token_id": 151645}""");
        return fixture;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is not worth failing a test over.
        }
    }
}
