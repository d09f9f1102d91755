using Quanta.Formats.Gguf;
using Quanta.Quantization;
using Quanta.Tests.Formats.Gguf;

namespace Quanta.Tests.Quantization;

public class QuantizerTests
{
    static readonly GgufWriterOptions NoFsync = new() { FlushToDisk = false };

    static QuantizationResult Quantize(string input, string output, string preset, QuantizationOptions? options = null, QuantizerOptions? run = null, IProgress<QuantizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var file = GgufFile.Open(input);
        var job = QuantizationJob.Create(file, QuantizationPresets.Parse(preset), output, options, (run ?? QuantizerOptions.Default) with { Writer = NoFsync });
        return Quantizer.Run(job, progress, cancellationToken);
    }

    [Theory]
    [MemberData(nameof(ExpectedModel.Covered), MemberType = typeof(ExpectedModel))]
    public void The_tiny_model_quantizes_to_llama_quantizes_bytes(string preset)
    {
        using var dir = new TempDirectory();
        var output = dir.File("out.gguf");
        Quantize(ExpectedModel.TinyModel, output, preset, run: new QuantizerOptions { Threads = 2 });
        ExpectedModel.AssertMatches(preset, output);
    }
}
