using System.IO.Compression;
using System.Text;
using BenchmarkDotNet.Attributes;
using Quanta.Formats.Gguf;
using Quanta.Inference.Tokenizers;

namespace Quanta.Benchmarks.Tokenizers;

/// <summary>
/// Loading a vocabulary from an open GGUF and tokenizing about 64 KB of English, on llama.cpp's vocabulary test
/// files (tests/Quanta.Tests/Fixtures/vocab): Llama 2 (SPM, 32,000 tokens) and GPT-2 (BPE, 50,257 tokens).
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    GgufFile? _file;
    Tokenizer? _tokenizer;
    byte[] _text = [];
    string? _path;

    [Params("llama-spm", "gpt-2")]
    public string Vocab { get; set; } = "llama-spm";

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"quanta-bench-vocab-{Vocab}.gguf");
        using (var source = File.OpenRead(Path.Combine(FixtureDirectory(), $"ggml-vocab-{Vocab}.gguf.gz")))
        using (var gzip = new GZipStream(source, CompressionMode.Decompress))
        using (var target = File.Create(_path))
        {
            gzip.CopyTo(target);
        }
        _file = GgufFile.Open(_path);
        _tokenizer = new Tokenizer(Vocabulary.Load(_file));
        _text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(
            "The quick brown fox jumps over the lazy dog; it's 12:45, and 3.14159 is close to pi. ", 750)));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _file?.Dispose();
        if (_path is not null)
        {
            File.Delete(_path);
        }
    }

    [Benchmark]
    public int LoadVocabulary() => Vocabulary.Load(_file!).Count;

    [Benchmark]
    public int Tokenize64KB() => _tokenizer!.Tokenize(_text, addSpecial: true).Length;

    /// <summary>The fixtures folder, found by walking up from the benchmark's output folder to the repository.</summary>
    static string FixtureDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Quanta.Tests", "Fixtures", "vocab");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/Quanta.Tests/Fixtures/vocab not found above " + AppContext.BaseDirectory);
    }
}
