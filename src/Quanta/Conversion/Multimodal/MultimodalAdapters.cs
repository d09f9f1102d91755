using Quanta.Formats.Gguf;

namespace Quanta.Conversion;

/// <summary>
/// The text half of a multimodal checkpoint seen through its text family's adapter: config.json with
/// <c>text_config</c> lifted, <c>language_model.</c> dropped from names, image tensors left out (llama.cpp's
/// text GGUF). With <see cref="MultimodalLayout.SingleFile"/> the image tensors come along under the vision
/// adapter's single-file names and its <c>{arch}.vision.*</c> keys follow the text keys (Ollama's layout).
/// </summary>
public sealed class MultimodalTextAdapter(ArchitectureAdapter text, VisionAdapter vision, MultimodalLayout layout) : ArchitectureAdapter
{
    public override string Architecture => text.Architecture;

    public MultimodalLayout Layout => layout;

    protected override IReadOnlyDictionary<string, string> LayerTensors { get; } = new Dictionary<string, string>();

    public override HfConfig ConfigFor(HfConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        vision.Validate(config);
        return config.Lift("text_config");
    }

    public override void WriteParameters(ConversionContext context, GgufMetadata metadata, uint fileType)
    {
        text.WriteParameters(context, metadata, fileType);
        if (layout == MultimodalLayout.SingleFile)
        {
            vision.WriteSingleFileParameters(context, new ArchitectureKeys(metadata, Architecture));
        }
    }

    public override IEnumerable<ConvertedTensor> ExtraTensors(ConversionContext context, GgufMetadata earlyMetadata) =>
        text.ExtraTensors(context, earlyMetadata);

    public override TensorMapping? Map(ConversionContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (vision.IsImageTensor(name))
        {
            return layout == MultimodalLayout.SingleFile ? vision.MapSingleFile(context, name) : null;
        }
        return text.Map(context, name.Replace("language_model.", "", StringComparison.Ordinal));
    }
}

/// <summary>The projector (mmproj) file of a multimodal checkpoint: architecture <c>clip</c>, image tensors only.</summary>
public sealed class ProjectorAdapter(VisionAdapter vision) : ArchitectureAdapter
{
    public override string Architecture => "clip";

    public override string GgufType => "mmproj";

    protected override IReadOnlyDictionary<string, string> LayerTensors { get; } = new Dictionary<string, string>();

    // Both halves read the merged config: the vision keys live in vision_config, the projection width is the
    // text model's hidden_size ({**hparams, **text_config} in MmprojModel).
    public override HfConfig ConfigFor(HfConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        vision.Validate(config);
        return config.Lift("text_config");
    }

    public override void WriteParameters(ConversionContext context, GgufMetadata metadata, uint fileType) =>
        vision.WriteProjectorParameters(context, metadata, fileType);

    public override TensorMapping? Map(ConversionContext context, string name) => vision.MapProjector(context, name);
}
