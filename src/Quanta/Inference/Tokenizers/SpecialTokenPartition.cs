namespace Quanta.Inference.Tokenizers;

/// <summary>
/// Cuts special tokens out of the text before the tokenizer sees it (llama-vocab.cpp's
/// <c>tokenizer_st_partition</c>): for each special token, longest first, every occurrence in every remaining
/// text fragment becomes that token, with the text on either side left as fragments. Control and unknown tokens
/// are cut only when parsing special tokens; user-defined tokens always are, as Hugging Face tokenizers do.
/// </summary>
internal static class SpecialTokenPartition
{
    /// <summary>A piece of the input: a token already decided, or raw text still to tokenize.</summary>
    internal readonly record struct Fragment(int Token, int Offset, int Length)
    {
        public bool IsToken => Token != Vocabulary.NoToken;

        public static Fragment Text(int offset, int length) => new(Vocabulary.NoToken, offset, length);
    }

    public static List<Fragment> Partition(Vocabulary vocabulary, string text, bool parseSpecial)
    {
        var fragments = new List<Fragment>();
        if (text.Length == 0)
        {
            return fragments;
        }
        fragments.Add(Fragment.Text(0, text.Length));
        var next = new List<Fragment>();
        foreach (var special in vocabulary.SpecialTokens)
        {
            var attributes = vocabulary.RawAttributes(special);
            if (!parseSpecial && (attributes & (TokenAttributes.Control | TokenAttributes.Unknown)) != 0)
            {
                continue;
            }
            var specialText = vocabulary.RawText(special);
            var changed = false;
            next.Clear();
            foreach (var fragment in fragments)
            {
                if (fragment.IsToken)
                {
                    next.Add(fragment);
                    continue;
                }
                changed |= Split(text, fragment, special, specialText, attributes, next);
            }
            if (changed)
            {
                (fragments, next) = (next, fragments);
            }
        }
        return fragments;
    }

    /// <summary>Splits one text fragment at every occurrence of the special token; false when there is none.</summary>
    static bool Split(string text, Fragment fragment, int special, string specialText, TokenAttributes attributes, List<Fragment> output)
    {
        var baseOffset = fragment.Offset;
        var baseLength = fragment.Length;
        var found = false;
        while (true)
        {
            var match = text.AsSpan(baseOffset, baseLength).IndexOf(specialText, StringComparison.Ordinal);
            if (match < 0)
            {
                if (baseLength > 0)
                {
                    output.Add(Fragment.Text(baseOffset, baseLength));
                }
                return found;
            }
            found = true;
            match += baseOffset;
            if (match > baseOffset)
            {
                var leftLength = match - baseOffset;
                if ((attributes & TokenAttributes.LeftStrip) != 0)
                {
                    while (leftLength > 0 && IsCSpace(text[baseOffset + leftLength - 1]))
                    {
                        leftLength--;
                    }
                }
                if (leftLength > 0)
                {
                    output.Add(Fragment.Text(baseOffset, leftLength));
                }
            }
            output.Add(new Fragment(special, 0, 0));

            var end = baseOffset + baseLength;
            if (match + specialText.Length >= end)
            {
                return true;
            }
            var rightOffset = match + specialText.Length;
            var rightLength = end - rightOffset;
            if ((attributes & TokenAttributes.RightStrip) != 0)
            {
                while (rightLength > 0 && IsCSpace(text[rightOffset]))
                {
                    rightOffset++;
                    rightLength--;
                }
            }
            baseOffset = rightOffset;
            baseLength = rightLength;
        }
    }

    /// <summary>C's isspace in the "C" locale.</summary>
    static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
