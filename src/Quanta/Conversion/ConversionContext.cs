namespace Quanta.Conversion;

/// <summary>What an adapter may look at while converting: the config and the checkpoint's facts.</summary>
/// <param name="Config">config.json.</param>
/// <param name="HfArchitecture">The <c>architectures[0]</c> entry that chose the adapter.</param>
/// <param name="VocabularySize">Tokens the tokenizer import found, when it ran (Gemma 3 trims its embeddings to it).</param>
/// <param name="Directory">The checkpoint directory (vision adapters read preprocessor_config.json there).</param>
public sealed record ConversionContext(HfConfig Config, string HfArchitecture, int? VocabularySize = null, string? Directory = null);
