using Quanta.Conversion;
using Quanta.Conversion.Tokenizers;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands;

/// <summary>
/// The Llama 2 tokenizer (32,000 tokens: <c>tokenizer.model</c>, <c>tokenizer.json</c>, <c>tokenizer_config.json</c>)
/// that the models <c>quanta demo</c> writes carry, so that llama.cpp loads them: embedded in the tool from the test
/// fixture, and turned into <c>tokenizer.*</c> keys by the same import <c>quanta convert</c> runs on a Llama 2
/// checkpoint, so the keys are exactly the ones a real conversion writes.
/// </summary>
internal static class DemoTokenizer
{
    /// <summary>The tokenizer's token count, which is the vocabulary of every written demo model.</summary>
    public const int Vocabulary = 32000;

    static readonly string[] FileNames = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json"];

    /// <summary>The three tokenizer files by name, for a checkpoint directory.</summary>
    public static IReadOnlyDictionary<string, byte[]> Files()
    {
        var assembly = typeof(DemoTokenizer).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in FileNames)
        {
            using var stream = assembly.GetManifestResourceStream($"{typeof(DemoTokenizer).FullName}.{name}")
                ?? throw new InvalidOperationException($"the demo tokenizer's {name} is not embedded in this build");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name] = copy.ToArray();
        }
        return files;
    }

    /// <summary>The <c>tokenizer.*</c> keys <c>quanta convert</c> writes for a Llama 2 checkpoint with these files.</summary>
    public static IReadOnlyList<KeyValuePair<string, GgufValue>> Keys()
    {
        // The import reads a checkpoint directory: give it one holding just the tokenizer files.
        var directory = Directory.CreateTempSubdirectory("quanta-demo-tokenizer-");
        try
        {
            foreach (var (name, bytes) in Files())
            {
                File.WriteAllBytes(Path.Combine(directory.FullName, name), bytes);
            }
            var config = HfConfig.Parse("""{"architectures":["LlamaForCausalLM"],"vocab_size":32000,"bos_token_id":1,"eos_token_id":2}""");
            return CheckpointTokenizerSource.Instance.GetKeys(new TokenizerRequest(directory.FullName, "LlamaForCausalLM", "llama", config))
                ?? throw new InvalidOperationException("the demo tokenizer's files gave no tokenizer keys");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
