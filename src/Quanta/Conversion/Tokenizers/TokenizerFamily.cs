namespace Quanta.Conversion.Tokenizers;

/// <summary>
/// Which of convert_hf_to_gguf's <c>set_vocab</c> routines applies. Several Hugging Face architectures share
/// one (Mistral, Mixtral and Llava use Llama's; Qwen3 inherits Qwen2's); <see cref="TokenizerFamilies"/> maps
/// architecture names to these.
/// </summary>
public enum TokenizerFamily
{
    /// <summary>LlamaModel: tokenizer.model, else tokenizer.json (SentencePiece-style BPE), else byte-level BPE (Llama 3).</summary>
    Llama,
    /// <summary>GemmaModel: tokenizer.model, CodeGemma's EOT id 107, no space prefix.</summary>
    Gemma,
    /// <summary>Gemma2Model: tokenizer.model, no space prefix.</summary>
    Gemma2,
    /// <summary>Gemma3Model: tokenizer.model, no space prefix; else tokenizer.json.</summary>
    Gemma3,
    /// <summary>Phi3MiniModel: its own tokenizer.model routine, or byte-level BPE when tokenizer_class is GPT2Tokenizer (Phi-4).</summary>
    Phi3,
    /// <summary>Qwen2Model (and Qwen3): tokenizer.model if present, else byte-level BPE.</summary>
    Qwen2,
    /// <summary>The default <c>set_vocab</c>: byte-level BPE (GPT-2 and most others).</summary>
    Gpt2,
}

/// <summary>Maps a config.json <c>architectures[0]</c> to its <see cref="TokenizerFamily"/>.</summary>
public static class TokenizerFamilies
{
    static readonly Dictionary<string, TokenizerFamily> ByArchitecture = new(StringComparer.Ordinal)
    {
        ["LlamaForCausalLM"] = TokenizerFamily.Llama,
        ["LLaMAForCausalLM"] = TokenizerFamily.Llama,
        ["MistralForCausalLM"] = TokenizerFamily.Llama,
        ["MixtralForCausalLM"] = TokenizerFamily.Llama,
        ["LlavaForConditionalGeneration"] = TokenizerFamily.Llama,
        ["GemmaForCausalLM"] = TokenizerFamily.Gemma,
        ["Gemma2ForCausalLM"] = TokenizerFamily.Gemma2,
        ["Gemma3ForCausalLM"] = TokenizerFamily.Gemma3,
        ["Gemma3ForConditionalGeneration"] = TokenizerFamily.Gemma3,
        ["Phi3ForCausalLM"] = TokenizerFamily.Phi3,
        ["Qwen2ForCausalLM"] = TokenizerFamily.Qwen2,
        ["Qwen2Model"] = TokenizerFamily.Qwen2,
        ["Qwen3ForCausalLM"] = TokenizerFamily.Qwen2,
        ["GPT2LMHeadModel"] = TokenizerFamily.Gpt2,
    };

    public static bool TryFromArchitecture(string architecture, out TokenizerFamily family) =>
        ByArchitecture.TryGetValue(architecture, out family);

    /// <summary>The architectures this map knows, for "unsupported architecture" messages.</summary>
    public static IEnumerable<string> Architectures => ByArchitecture.Keys.Order(StringComparer.Ordinal);
}
