namespace Quanta.Formats.Tokenizer;

/// <summary>The <c>tokenizer.*</c> metadata keys (gguf-py <c>Keys.Tokenizer</c> spellings, "seperator" included).</summary>
public static class TokenizerKeys
{
    public const string Model = "tokenizer.ggml.model";
    public const string Pre = "tokenizer.ggml.pre";
    public const string Tokens = "tokenizer.ggml.tokens";
    public const string Scores = "tokenizer.ggml.scores";
    public const string TokenType = "tokenizer.ggml.token_type";
    public const string TokenTypeCount = "tokenizer.ggml.token_type_count";
    public const string Merges = "tokenizer.ggml.merges";
    public const string BosId = "tokenizer.ggml.bos_token_id";
    public const string EosId = "tokenizer.ggml.eos_token_id";
    public const string UnknownId = "tokenizer.ggml.unknown_token_id";
    public const string SeparatorId = "tokenizer.ggml.seperator_token_id";
    public const string PaddingId = "tokenizer.ggml.padding_token_id";
    public const string ClsId = "tokenizer.ggml.cls_token_id";
    public const string MaskId = "tokenizer.ggml.mask_token_id";
    public const string EotId = "tokenizer.ggml.eot_token_id";
    public const string EomId = "tokenizer.ggml.eom_token_id";
    public const string FimPreId = "tokenizer.ggml.fim_pre_token_id";
    public const string FimSufId = "tokenizer.ggml.fim_suf_token_id";
    public const string FimMidId = "tokenizer.ggml.fim_mid_token_id";
    public const string FimPadId = "tokenizer.ggml.fim_pad_token_id";
    public const string FimRepId = "tokenizer.ggml.fim_rep_token_id";
    public const string FimSepId = "tokenizer.ggml.fim_sep_token_id";

    // Deprecated spellings of the fill-in-the-middle ids, still read by llama.cpp.
    public const string PrefixId = "tokenizer.ggml.prefix_token_id";
    public const string SuffixId = "tokenizer.ggml.suffix_token_id";
    public const string MiddleId = "tokenizer.ggml.middle_token_id";

    public const string AddBos = "tokenizer.ggml.add_bos_token";
    public const string AddEos = "tokenizer.ggml.add_eos_token";
    public const string AddSpacePrefix = "tokenizer.ggml.add_space_prefix";
    public const string RemoveExtraWhitespaces = "tokenizer.ggml.remove_extra_whitespaces";
    public const string PrecompiledCharsmap = "tokenizer.ggml.precompiled_charsmap";
    public const string ChatTemplate = "tokenizer.chat_template";
    public const string ChatTemplates = "tokenizer.chat_templates";
}
