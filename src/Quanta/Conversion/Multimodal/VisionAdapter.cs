using Quanta.Formats.Gguf;

namespace Quanta.Conversion;

/// <summary>
/// The image half of a multimodal architecture: which checkpoint tensors belong to the vision tower and the
/// projector, their names, types and keys in llama.cpp's projector file (<c>clip</c>) and in Ollama's single
/// file. Holds no state; the <see cref="ConversionContext"/> carries config.json (with <c>text_config</c>
/// lifted, <c>vision_config</c> still in it) and the checkpoint directory.
/// </summary>
public abstract class VisionAdapter
{
    /// <summary>Throws a <see cref="ConversionException"/> when config.json describes a variant this adapter does not convert.</summary>
    public virtual void Validate(HfConfig config)
    {
    }

    /// <summary>
    /// The checkpoint name with exporter-specific prefixes normalised (transformers 4.52+ saves
    /// <c>model.vision_tower.*</c>), or null when the tensor is not an image tensor.
    /// </summary>
    public abstract string? ImageTensorName(string name);

    public bool IsImageTensor(string name) => ImageTensorName(name) is not null;

    /// <summary>The tensor in llama.cpp's projector file, or null to leave it out (text tensors, unused layers).</summary>
    public abstract TensorMapping? MapProjector(ConversionContext context, string name);

    /// <summary>The tensor in the single-file layout, or null to leave it out; null for text tensors too.</summary>
    public abstract TensorMapping? MapSingleFile(ConversionContext context, string name);

    /// <summary>The <c>clip.*</c> keys of the projector file (and <c>general.file_type</c>), in the converter's order.</summary>
    public abstract void WriteProjectorParameters(ConversionContext context, GgufMetadata metadata, uint fileType);

    /// <summary>The <c>{arch}.vision.*</c> keys the single file adds after the text model's keys.</summary>
    public abstract void WriteSingleFileParameters(ConversionContext context, ArchitectureKeys keys);

    /// <summary>config.json's <c>vision_config</c>, required.</summary>
    protected static HfConfig VisionConfig(ConversionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Config.Object("vision_config")
            ?? throw new ConversionException($"{context.Config.Path}: 'vision_config' is not set; a {context.HfArchitecture} checkpoint needs it");
    }

    /// <summary>
    /// The image processor's settings as the converter reads them: preprocessor_config.json, then
    /// processor_config.json (its <c>image_processor</c> lifted), later fields winning; null when neither exists.
    /// </summary>
    protected static HfConfig? ProcessorConfig(ConversionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Directory is not { } directory)
        {
            return null;
        }
        var preprocessor = HfConfig.LoadIfPresent(Path.Combine(directory, "preprocessor_config.json"));
        var processor = HfConfig.LoadIfPresent(Path.Combine(directory, "processor_config.json"))?.Lift("image_processor");
        return preprocessor is null && processor is null ? null : HfConfig.Merge(Path.Combine(directory, "preprocessor_config.json"), preprocessor, processor);
    }

    protected static void Set(GgufMetadata metadata, string key, GgufValue value)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        metadata.Replace(key, value);
    }

    protected static GgufValue UInt32(HfConfig config, string key) => UInt32Value(config, config.RequireInteger(key), key);

    protected static GgufValue UInt32Value(HfConfig config, long value, string key) =>
        value is >= 0 and <= uint.MaxValue
            ? GgufValue.UInt32((uint)value)
            : throw new ConversionException($"{config.Path}: '{key}' = {value} does not fit an unsigned 32-bit value");

    protected static GgufValue Floats(double[] values) => GgufValue.Array(GgufArray.Of([.. values.Select(v => (float)v)]));
}
