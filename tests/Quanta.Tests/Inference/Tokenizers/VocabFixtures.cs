using System.IO.Compression;
using System.Text;
using Quanta.Formats.Gguf;
using Quanta.Inference.Tokenizers;

namespace Quanta.Tests.Inference.Tokenizers;

/// <summary>
/// llama.cpp's own tokenizer tests (Fixtures/vocab, copied from the golden set's vocab folder): vocabulary-only GGUF files
/// (gzip-compressed) and, per vocabulary, texts (<c>.inp</c>) with the ids llama.cpp's February 2025 build gives
/// them (<c>.out</c>, tokenized without special tokens and without parsing them).
/// </summary>
internal static class VocabFixtures
{
    public static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fixtures", "vocab");

    static readonly Dictionary<string, Lazy<Tokenizer>> Cache = [];

    /// <summary>The tokenizer of Fixtures/vocab/ggml-vocab-NAME.gguf.gz, loaded once per test run.</summary>
    public static Tokenizer Load(string name)
    {
        Lazy<Tokenizer> lazy;
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out lazy!))
            {
                lazy = new Lazy<Tokenizer>(() => new Tokenizer(Vocabulary.Load(OpenGguf(name, out _))));
                Cache[name] = lazy;
            }
        }
        return lazy.Value;
    }

    /// <summary>Decompresses the vocabulary into a temporary file and opens it (the file is deleted on dispose of the process).</summary>
    public static GgufFile OpenGguf(string name, out string path)
    {
        path = Path.Combine(Path.GetTempPath(), $"quanta-vocab-{name}-{Guid.NewGuid():N}.gguf");
        using (var source = File.OpenRead(Path.Combine(Root, $"ggml-vocab-{name}.gguf.gz")))
        using (var gzip = new GZipStream(source, CompressionMode.Decompress))
        using (var target = File.Create(path))
        {
            gzip.CopyTo(target);
        }
        var file = GgufFile.Open(path);
        var toDelete = path;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            file.Dispose();
            File.Delete(toDelete);
        };
        return file;
    }

    /// <summary>The texts of NAME.gguf.inp (UTF-8 bytes, separated by "\n__ggml_vocab_test__\n") with the expected ids.</summary>
    public static IReadOnlyList<(byte[] Text, int[] Ids)> Cases(string name)
    {
        var input = File.ReadAllBytes(Path.Combine(Root, $"ggml-vocab-{name}.gguf.inp"));
        var texts = Split(input, "\n__ggml_vocab_test__\n"u8);
        var lines = File.ReadAllText(Path.Combine(Root, $"ggml-vocab-{name}.gguf.out")).Split('\n');
        Assert.True(lines.Length >= texts.Count, $"{name}: {texts.Count} texts but {lines.Length} result lines");
        var cases = new List<(byte[], int[])>();
        for (var i = 0; i < texts.Count; i++)
        {
            var ids = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            cases.Add((texts[i], ids));
        }
        return cases;
    }

    static List<byte[]> Split(byte[] input, ReadOnlySpan<byte> separator)
    {
        var parts = new List<byte[]>();
        var rest = input.AsSpan();
        while (true)
        {
            var at = rest.IndexOf(separator);
            if (at < 0)
            {
                // llama.cpp's test reader drops what follows the last separator (the file ends with one).
                if (rest.Length > 0)
                {
                    parts.Add(rest.ToArray());
                }
                return parts;
            }
            parts.Add(rest[..at].ToArray());
            rest = rest[(at + separator.Length)..];
        }
    }

    /// <summary>Runs every case; returns one line per mismatch (empty when all pass).</summary>
    public static List<string> Mismatches(Tokenizer tokenizer, string name)
    {
        var failures = new List<string>();
        foreach (var (text, expected) in Cases(name))
        {
            var actual = tokenizer.Tokenize(text, addSpecial: false, parseSpecial: false);
            if (!actual.SequenceEqual(expected))
            {
                failures.Add($"{name}: '{Encoding.UTF8.GetString(text)}': expected [{string.Join(' ', expected)}], got [{string.Join(' ', actual)}]");
            }
        }
        return failures;
    }
}
