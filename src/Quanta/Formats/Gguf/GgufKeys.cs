namespace Quanta.Formats.Gguf;

/// <summary>Metadata keys Quanta reads or writes itself (gguf-py <c>constants.py</c> spellings).</summary>
public static class GgufKeys
{
    public const string Architecture = "general.architecture";
    public const string Name = "general.name";
    public const string Alignment = "general.alignment";
    public const string FileType = "general.file_type";
    public const string QuantizationVersion = "general.quantization_version";
    public const string SplitNumber = "split.no";
    public const string SplitCount = "split.count";
    public const string SplitTensorsCount = "split.tensors.count";

    /// <summary>ggml pads to 32 bytes unless <c>general.alignment</c> says otherwise.</summary>
    public const int DefaultAlignment = 32;
}
