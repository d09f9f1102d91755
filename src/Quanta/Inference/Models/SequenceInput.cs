namespace Quanta.Inference.Models;

/// <summary>
/// One sequence's part of a <see cref="LlamaModel.Decode"/> step (a llama.cpp <c>llama_batch</c>'s tokens with one
/// <c>seq_id</c>): <paramref name="Tokens"/> continue <paramref name="Sequence"/> where its cache ends — a new
/// sequence's whole prompt, or one sampled token of a running one. Only the last token's logits are output, or every
/// token's with <paramref name="AllLogits"/> (perplexity-style scoring).
/// </summary>
public readonly record struct SequenceInput(int Sequence, ReadOnlyMemory<int> Tokens, bool AllLogits = false);
