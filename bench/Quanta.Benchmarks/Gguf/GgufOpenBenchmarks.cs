using System.Text;
using BenchmarkDotNet.Attributes;
using Quanta.Formats.Gguf;

namespace Quanta.Benchmarks.Gguf;

/// <summary>
/// Opening (parsing and validating) a GGUF with a large vocabulary: 500,000 metadata array items
/// (200,000 token strings, 200,000 f32 scores, 100,000 i32 token types) and 1,000 tensors.
/// </summary>
[MemoryDiagnoser]
public class GgufOpenBenchmarks
{
    string _path = "";

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), "quanta-bench-open.gguf");
        File.WriteAllBytes(_path, BuildFile());
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark]
    public int Open()
    {
        using var file = GgufFile.Open(_path);
        return file.Tensors.Count + file.Metadata.Count;
    }

    /// <summary>Raw GGUF bytes, written by hand so the benchmark measures only the reader.</summary>
    internal static byte[] BuildFile()
    {
        const int Tokens = 200_000;
        const int Tensors = 1_000;
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((ulong)Tensors);
        w.Write(4UL);
        WriteString(w, "general.architecture");
        w.Write(8);
        WriteString(w, "llama");
        WriteString(w, "tokenizer.ggml.tokens");
        w.Write(9);
        w.Write(8);
        w.Write((ulong)Tokens);
        for (var i = 0; i < Tokens; i++)
        {
            WriteString(w, $"▁token{i}");
        }
        WriteString(w, "tokenizer.ggml.scores");
        w.Write(9);
        w.Write(6);
        w.Write((ulong)Tokens);
        for (var i = 0; i < Tokens; i++)
        {
            w.Write(-i * 0.25f);
        }
        WriteString(w, "tokenizer.ggml.token_type");
        w.Write(9);
        w.Write(5);
        w.Write(100_000UL);
        for (var i = 0; i < 100_000; i++)
        {
            w.Write(1);
        }
        const int TensorBytes = 64 * 4 * 4;
        for (var i = 0; i < Tensors; i++)
        {
            WriteString(w, $"blk.{i / 10}.t{i % 10}.weight");
            w.Write(2u);
            w.Write(64L);
            w.Write(4L);
            w.Write(0);
            w.Write((ulong)i * TensorBytes);
        }
        w.Write(new byte[(32 - (ms.Position % 32)) % 32]);
        w.Write(new byte[Tensors * TensorBytes]);
        w.Flush();
        return ms.ToArray();
    }

    static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
