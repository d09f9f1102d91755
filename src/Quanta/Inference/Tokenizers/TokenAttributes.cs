namespace Quanta.Inference.Tokenizers;

/// <summary>A token's attributes, llama.cpp's <c>llama_token_attr</c> bits (from the token type plus its rules).</summary>
[Flags]
public enum TokenAttributes
{
    Undefined = 0,
    Unknown = 1 << 0,
    Unused = 1 << 1,
    Normal = 1 << 2,
    Control = 1 << 3,
    UserDefined = 1 << 4,
    Byte = 1 << 5,
    Normalized = 1 << 6,
    LeftStrip = 1 << 7,
    RightStrip = 1 << 8,
    SingleWord = 1 << 9,
}

/// <summary>The tokenizer algorithm a vocabulary uses (<c>tokenizer.ggml.model</c>).</summary>
public enum VocabularyType
{
    /// <summary>SentencePiece BPE over characters, with byte fallback (<c>llama</c>: Llama, Mistral, Gemma, Phi-3).</summary>
    Spm,

    /// <summary>Byte-level BPE with merges and a pre-tokenizer (<c>gpt2</c>: Llama 3, Qwen, GPT-2 ...).</summary>
    Bpe,

    /// <summary>WordPiece (<c>bert</c>).</summary>
    Wpm,

    /// <summary>SentencePiece unigram (<c>t5</c>).</summary>
    Ugm,
}
