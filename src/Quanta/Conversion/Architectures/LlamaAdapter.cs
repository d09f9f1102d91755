using Quanta.Formats.Gguf;

namespace Quanta.Conversion.Architectures;

/// <summary>
/// <c>LlamaForCausalLM</c> and <c>MistralForCausalLM</c> (the converter's <c>LlamaModel</c>): Q/K rows
/// permuted for ggml's NORM rope, <c>vocab_size</c> and <c>rope.dimension_count</c> added, linear rope
/// scaling as keys, Llama 3.1+ "llama3" rope scaling as a generated <c>rope_freqs</c> tensor.
/// </summary>
public sealed class LlamaAdapter : ArchitectureAdapter
{
    public override string Architecture => "llama";

    protected override IReadOnlyDictionary<string, string> LayerTensors { get; } = LlamaLayerTensors();

    public override void WriteParameters(ConversionContext context, GgufMetadata metadata, uint fileType)
    {
        ArgumentNullException.ThrowIfNull(context);
        var keys = new ArchitectureKeys(metadata, Architecture);
        WriteCommonParameters(context, keys, fileType);
        var c = context.Config;
        keys.UInt32("vocab_size", c.RequireInteger("vocab_size"));
        keys.UInt32("rope.dimension_count", HeadDimension(c));
        if (c.Object("rope_scaling") is { } scaling && scaling.Has("factor") && scaling.String("type") == "linear")
        {
            keys.String("rope.scaling.type", "linear");
            keys.Float32("rope.scaling.factor", scaling.RequireNumber("factor"));
        }
    }

    static long HeadDimension(HfConfig c) =>
        c.Integer("head_dim") ?? (c.RequireInteger("hidden_size") / c.RequireInteger("num_attention_heads"));

    public override TensorMapping? Map(ConversionContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(context);
        var mapping = base.Map(context, name);
        if (mapping is null)
        {
            return null;
        }
        if (name.EndsWith("q_proj.weight", StringComparison.Ordinal) || name.EndsWith("q_proj.bias", StringComparison.Ordinal))
        {
            return mapping with { PermuteHeads = (int)context.Config.RequireInteger("num_attention_heads") };
        }
        if (name.EndsWith("k_proj.weight", StringComparison.Ordinal) || name.EndsWith("k_proj.bias", StringComparison.Ordinal))
        {
            return mapping with { PermuteHeads = (int)(context.Config.Integer("num_key_value_heads") ?? context.Config.RequireInteger("num_attention_heads")) };
        }
        return mapping;
    }

    /// <summary>
    /// The "llama3" rope scaling factors, one per rotary frequency, computed in float32 as the converter's
    /// torch code does.
    /// </summary>
    public override IEnumerable<ConvertedTensor> ExtraTensors(ConversionContext context, GgufMetadata earlyMetadata)
    {
        ArgumentNullException.ThrowIfNull(context);
        var c = context.Config;
        if (c.Object("rope_scaling") is not { } scaling || !string.Equals(scaling.String("rope_type"), "llama3", StringComparison.OrdinalIgnoreCase))
        {
            yield break;
        }
        yield return ConvertedTensor.Generated("rope_freqs.weight", Llama3RopeFactors(c, scaling));
    }

    internal static float[] Llama3RopeFactors(HfConfig c, HfConfig scaling)
    {
        var theta = (float)(c.Number("rope_theta") ?? 10000.0);
        var dim = (int)HeadDimension(c);
        var factor = (float)(scaling.Number("factor") ?? 8.0);
        var low = scaling.Number("low_freq_factor") ?? 1.0;
        var high = scaling.Number("high_freq_factor") ?? 4.0;
        var oldContext = scaling.Integer("original_max_position_embeddings") ?? 8192;
        // Python floats compared with float32 tensors are rounded to float32 first.
        var lowWavelength = (float)(oldContext / low);
        var highWavelength = (float)(oldContext / high);
        if (lowWavelength == highWavelength)
        {
            throw new ConversionException($"{c.Path}: rope_scaling low_freq_factor and high_freq_factor give the same wavelength");
        }
        var factors = new float[dim / 2];
        for (var i = 0; i < factors.Length; i++)
        {
            var frequency = 1f / MathF.Pow(theta, 2 * i / (float)dim);
            var wavelength = (float)(2 * Math.PI) / frequency;
            if (wavelength < highWavelength)
            {
                factors[i] = 1f;
            }
            else if (wavelength > lowWavelength)
            {
                factors[i] = factor;
            }
            else
            {
                var smooth = ((oldContext / wavelength) - (float)low) / (float)(high - low);
                factors[i] = 1f / (((1f - smooth) / factor) + smooth);
            }
        }
        return factors;
    }
}
