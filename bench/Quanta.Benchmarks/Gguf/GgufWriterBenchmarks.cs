using BenchmarkDotNet.Attributes;

namespace Quanta.Benchmarks.Gguf;

/// <summary>
/// Copies a ~1 GB GGUF through <see cref="Quanta.Formats.Gguf.GgufWriter"/>: memory-mapped reads, chunked
/// streaming writes, fsync and rename. The input is generated once into the bench directory and kept; the
/// copy is deleted after the run. bench/gguf-copy.sh compares the same copy with cp.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MemoryDiagnoser]
public class GgufWriterBenchmarks
{
    string _input = "";
    string _output = "";

    /// <summary>Bytes per WriteTensorData call: below, at and above the writer's 1 MiB stream buffer.</summary>
    [Params(64 << 10, 1 << 20, 4 << 20)]
    public int ChunkBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _input = GgufBenchFiles.DefaultInput;
        if (!File.Exists(_input))
        {
            GgufBenchFiles.Generate(_input);
        }
        _output = Path.Combine(GgufBenchFiles.Directory, "copy-bdn.gguf");
    }

    [Benchmark]
    public void CopyThroughWriter() => GgufBenchFiles.Copy(_input, _output, ChunkBytes, flushToDisk: true);

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_output);
}
