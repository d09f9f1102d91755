using Quanta.Formats;

namespace Quanta.Inference.Tokenizers;

/// <summary>A GGUF file whose <c>tokenizer.*</c> keys do not describe a vocabulary llama.cpp would load.</summary>
public sealed class VocabularyFormatException : FileFormatException
{
    public VocabularyFormatException()
    {
    }

    public VocabularyFormatException(string message)
        : base(message)
    {
    }

    public VocabularyFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public VocabularyFormatException(string? file, string message)
        : base(file, -1, message)
    {
    }
}
