namespace Quanta.Formats.Tokenizer;

/// <summary>
/// <c>tokenizer.ggml.token_type</c> values (gguf-py <c>TokenType</c>). They equal SentencePiece's piece types,
/// which is why a <c>tokenizer.model</c> type can be stored as is once llama.cpp's folding is applied.
/// </summary>
public enum GgufTokenType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}
