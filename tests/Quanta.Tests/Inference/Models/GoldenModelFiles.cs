using Quanta.Tests.Cli;
using Quanta.Tests.Conversion;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// The GGUF files llama.cpp ran for the golden runtime data, rebuilt once per test run: each golden checkpoint
/// converted to f32 and q8_0 (the bytes of convert_hf_to_gguf.py, checked by the conversion tests), and the f32
/// file quantized to Q4_K_M (the bytes of llama-quantize).
/// </summary>
public sealed class GoldenModelFiles : IDisposable
{
    readonly string _root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "quanta-golden-runtime-" + Guid.NewGuid().ToString("N"));
    readonly Dictionary<(string, string), string> _paths = [];
    readonly Lock _lock = new();

    /// <summary>
    /// The file for <paramref name="model"/> (llama, mistral, gemma, or any recipe in Fixtures/convert) and type (f32
    /// and q8_0 converted, q4km or any other <c>quanta quantize</c> preset name quantized from f32), built on first
    /// use. <c>llama-moe</c> and <c>qwen2moe</c> are <see cref="MoeModelFile"/>s made from llama's and qwen2's f32 files;
    /// their other types are quantized. <c>llama-rope-freqs</c> is llama's file of the same type with llama3's
    /// <c>rope_freqs</c> added (<see cref="RopeFreqsModelFile"/>).
    /// </summary>
    public string Path(string model, string type)
    {
        lock (_lock)
        {
            if (_paths.TryGetValue((model, type), out var known))
            {
                return known;
            }
            var output = System.IO.Path.Combine(_root, $"{model}.{type}.gguf");
            if (model == "llama-rope-freqs")
            {
                Directory.CreateDirectory(_root);
                RopeFreqsModelFile.Write(Path("llama", type), output);
            }
            else if (model is "llama-moe" or "qwen2moe" && type == "f32")
            {
                Directory.CreateDirectory(_root);
                MoeModelFile.Write(Path(model == "qwen2moe" ? "qwen2" : "llama", "f32"), output, qwen2Moe: model == "qwen2moe");
            }
            else if (type is not ("f32" or "q8_0") || model is "llama-moe" or "qwen2moe")
            {
                Check(CliRunner.Run("quantize", Path(model, "f32"), output, type switch { "q4km" => "Q4_K_M", "q8_0" => "Q8_0", _ => type }));
            }
            else
            {
                var checkpoint = System.IO.Path.Combine(_root, "checkpoints", model);
                if (!Directory.Exists(checkpoint))
                {
                    TinyCheckpoint.Write(model, checkpoint);
                }
                Check(CliRunner.Run("convert", checkpoint, "--type", type, "-o", output));
            }
            _paths[(model, type)] = output;
            return output;
        }
    }

    static void Check(CliResult result)
    {
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(result.Error);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
