namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// An entry of <c>added_tokens</c> (tokenizer.json) or <c>added_tokens_decoder</c> (tokenizer_config.json).
/// <paramref name="Normalized"/> is null when the file does not say.
/// </summary>
public sealed record HfAddedToken(int Id, string Content, bool Special, bool? Normalized);
