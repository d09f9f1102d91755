using Quanta.Conversion;
using Quanta.Conversion.Tokenizers;
using Quanta.Quantization;

namespace Quanta.Store;

/// <summary>How <see cref="ModelCreator"/> builds a model beyond what the Modelfile says.</summary>
public sealed record CreateOptions
{
    public static CreateOptions Default { get; } = new();

    /// <summary><c>--quantize</c>: the preset for the model layer, or null to store it as it is.</summary>
    public QuantizationPreset? Quantize { get; init; }

    /// <summary>The tensor-type switches <c>quanta quantize</c> has (--tensor-type, --pure ...).</summary>
    public QuantizationOptions QuantizationOptions { get; init; } = QuantizationOptions.Default;

    /// <summary>Threads, requantizing, metadata overrides. Splitting is not possible: a layer is one file.</summary>
    public QuantizerOptions Run { get; init; } = QuantizerOptions.Default;

    /// <summary><c>--quantize-projector</c>: a projector is stored as it is unless this is set.</summary>
    public QuantizationPreset? QuantizeProjector { get; init; }

    /// <summary>The tokenizer import for a Hugging Face checkpoint in FROM; null writes no tokenizer.* keys.</summary>
    public ITokenizerKeysSource? Tokenizer { get; init; } = CheckpointTokenizerSource.Instance;

    /// <summary>
    /// The variant of a gemma_pytorch int8 checkpoint in FROM (<c>quanta convert --variant</c>); null recognises it
    /// from the shapes, and a checkpoint no known variant matches is refused.
    /// </summary>
    public Conversion.GemmaInt8.GemmaVariant? GemmaVariant { get; init; }

    /// <summary>Runs a quantization (the CLI draws a progress bar around it); default: <see cref="Quantizer.Run"/>.</summary>
    public Func<QuantizationJob, CancellationToken, QuantizationResult>? RunQuantizer { get; init; }

    /// <summary>Ollama's status lines: <c>creating new layer sha256:…</c>, <c>writing manifest</c>, <c>success</c> ...</summary>
    public Action<string>? Status { get; init; }

    /// <summary>Warnings (deprecated parameters, requantizing).</summary>
    public Action<string>? Warning { get; init; }
}
