using Quanta.Tests.Cli;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// Fixtures/models/tiny-llama-trained: a trained 11 M-parameter Llama (BF16 safetensors checkpoint with the Llama 2
/// tokenizer), its shipped Q8_0 GGUF, the held-out text and what llama.cpp computed with them (llama.cpp/). The
/// other files llama.cpp ran — f32 and bf16 from <c>convert</c>, the presets quantized from f32 — are rebuilt once
/// per test run into a temporary folder: the f32 file is 44 MB, too large to ship.
/// </summary>
public sealed class TinyTrainedModel : IDisposable
{
    readonly string _root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "quanta-tiny-trained-" + Guid.NewGuid().ToString("N"));
    readonly Dictionary<string, string> _paths = [];
    readonly Dictionary<string, string> _bases = [];
    readonly Lock _lock = new();

    public static string Directory => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", "tiny-llama-trained");

    /// <summary>The checkpoint converted with <c>quanta convert --type q8_0</c>: the model the repository ships.</summary>
    public static string ShippedQ8_0 => System.IO.Path.Combine(Directory, "tiny-llama-trained.Q8_0.gguf");

    /// <summary>60 KB of text of the training data's kind that the model was not trained on.</summary>
    public static string HeldOut => System.IO.Path.Combine(Directory, "heldout.txt");

    /// <summary>A file llama.cpp wrote (or the oracle's record of one), under llama.cpp/.</summary>
    public static string LlamaCpp(string name) => System.IO.Path.Combine(Directory, "llama.cpp", name);

    /// <summary>
    /// The GGUF file of <paramref name="type"/>: f32 and bf16 converted from the checkpoint, Q8_0 the shipped file,
    /// any other <c>quanta quantize</c> preset quantized from f32 — as the README's figures were made. Built on first use.
    /// </summary>
    public string Path(string type)
    {
        if (type == "Q8_0")
        {
            return ShippedQ8_0;
        }
        lock (_lock)
        {
            if (_paths.TryGetValue(type, out var known))
            {
                return known;
            }
            System.IO.Directory.CreateDirectory(_root);
            var output = System.IO.Path.Combine(_root, $"tiny-{type}.gguf");
            var result = type is "f32" or "bf16"
                ? CliRunner.Run("convert", Directory, "--type", type, "-o", output, "--threads", "2")
                : CliRunner.Run("quantize", Path("f32"), output, type, "2");
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException(result.Error);
            }
            _paths[type] = output;
            return output;
        }
    }

    /// <summary>
    /// The f32 model's base log-probability file for heldout.txt (<c>quanta perplexity --kl-divergence-base</c>),
    /// written on first use, and what that run printed.
    /// </summary>
    public (string Path, string Output) F32Base(int context, int chunks)
    {
        var f32 = Path("f32");
        lock (_lock)
        {
            var path = System.IO.Path.Combine(_root, $"f32.c{context}.chunks{chunks}.kld");
            if (!_bases.TryGetValue(path, out var output))
            {
                var run = CliRunner.Run("perplexity", "-m", f32, "-f", HeldOut, "-c", context.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "--chunks", chunks.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "2", "--kl-divergence-base", path);
                if (run.ExitCode != 0)
                {
                    throw new InvalidOperationException(run.Error);
                }
                output = run.Out;
                _bases[path] = output;
            }
            return (path, output);
        }
    }

    /// <summary>A scratch path in this run's folder, removed with it.</summary>
    public string Scratch(string name)
    {
        System.IO.Directory.CreateDirectory(_root);
        return System.IO.Path.Combine(_root, name);
    }

    public void Dispose()
    {
        if (System.IO.Directory.Exists(_root))
        {
            System.IO.Directory.Delete(_root, recursive: true);
        }
    }
}
