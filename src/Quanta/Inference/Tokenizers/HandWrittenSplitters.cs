namespace Quanta.Inference.Tokenizers;

/// <summary>
/// llama.cpp's hand-written replacements for the two most used splitting regexes (unicode.cpp's
/// <c>unicode_regex_split_custom_gpt2</c> and <c>..._llama3</c>). They are not exactly the regexes (a regex engine
/// would backtrack where these do not), and llama.cpp's token ids come from these, so they are ported step for
/// step. Each works on code points: <paramref name="offsets"/> are the lengths of the pieces found so far, and
/// each piece is split on its own, as if it were the whole text.
/// </summary>
internal static class HandWrittenSplitters
{
    /// <summary>GPT-2: <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>.</summary>
    public static List<int> Gpt2(ReadOnlySpan<int> cpts, List<int> offsets)
    {
        var result = new List<int>(offsets.Count);
        var start = 0;
        foreach (var offset in offsets)
        {
            var piece = new Piece(cpts, start, start + offset, result);
            start += offset;
            for (var pos = piece.Start; pos < piece.End;)
            {
                var cpt = piece.Cpt(pos);
                var flags = piece.Flags(pos);

                if (cpt == '\'' && pos + 1 < piece.End)
                {
                    var next = piece.Cpt(pos + 1);
                    if (next is 's' or 't' or 'm' or 'd')
                    {
                        pos += piece.AddToken(pos + 2);
                        continue;
                    }
                    if (pos + 2 < piece.End)
                    {
                        var nextNext = piece.Cpt(pos + 2);
                        if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l'))
                        {
                            pos += piece.AddToken(pos + 3);
                            continue;
                        }
                    }
                }

                var flags2 = cpt == ' ' ? piece.Flags(pos + 1) : flags;
                if (Has(flags2, CodepointFlags.Letter))
                {
                    pos += cpt == ' ' ? 1 : 0;
                    while (Has(flags2, CodepointFlags.Letter))
                    {
                        flags2 = piece.Flags(++pos);
                    }
                    piece.AddToken(pos);
                    continue;
                }
                if (Has(flags2, CodepointFlags.Number))
                {
                    pos += cpt == ' ' ? 1 : 0;
                    while (Has(flags2, CodepointFlags.Number))
                    {
                        flags2 = piece.Flags(++pos);
                    }
                    piece.AddToken(pos);
                    continue;
                }
                if (IsOther(flags2))
                {
                    pos += cpt == ' ' ? 1 : 0;
                    while (IsOther(flags2))
                    {
                        flags2 = piece.Flags(++pos);
                    }
                    piece.AddToken(pos);
                    continue;
                }

                var whitespaces = 0;
                while (Has(piece.Flags(pos + whitespaces), CodepointFlags.Whitespace))
                {
                    whitespaces++;
                }
                // \s+(?!\S): all but the last whitespace when something follows.
                if (whitespaces > 1 && piece.Cpt(pos + whitespaces) != Piece.OutOfRange)
                {
                    pos += whitespaces - 1;
                    piece.AddToken(pos);
                    continue;
                }
                if (whitespaces > 0)
                {
                    pos += whitespaces;
                    piece.AddToken(pos);
                    continue;
                }
                piece.AddToken(++pos);
            }
        }
        return result;
    }

    /// <summary>
    /// Llama 3: <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
    /// </summary>
    public static List<int> Llama3(ReadOnlySpan<int> cpts, List<int> offsets)
    {
        var result = new List<int>(offsets.Count);
        var start = 0;
        foreach (var offset in offsets)
        {
            var piece = new Piece(cpts, start, start + offset, result);
            start += offset;
            for (var pos = piece.Start; pos < piece.End;)
            {
                var cpt = piece.Cpt(pos);
                var flags = piece.Flags(pos);

                if (cpt == '\'' && pos + 1 < piece.End)
                {
                    var next = Codepoints.ToLower(piece.Cpt(pos + 1));
                    if (next is 's' or 't' or 'm' or 'd')
                    {
                        pos += piece.AddToken(pos + 2);
                        continue;
                    }
                    if (pos + 2 < piece.End)
                    {
                        var nextNext = Codepoints.ToLower(piece.Cpt(pos + 2));
                        if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l'))
                        {
                            pos += piece.AddToken(pos + 3);
                            continue;
                        }
                    }
                }

                // [^\r\n\p{L}\p{N}]?\p{L}+
                if (!(cpt == '\r' || cpt == '\n' || Has(flags, CodepointFlags.Number)))
                {
                    if (Has(flags, CodepointFlags.Letter) || Has(piece.Flags(pos + 1), CodepointFlags.Letter))
                    {
                        pos++;
                        while (Has(piece.Flags(pos), CodepointFlags.Letter))
                        {
                            pos++;
                        }
                        piece.AddToken(pos);
                        continue;
                    }
                }

                // \p{N}{1,3}
                if (Has(flags, CodepointFlags.Number))
                {
                    var first = pos;
                    while (Has(piece.Flags(pos), CodepointFlags.Number))
                    {
                        if (++pos - first >= 3)
                        {
                            piece.AddToken(pos);
                            first = pos;
                        }
                    }
                    piece.AddToken(pos);
                    continue;
                }

                //  ?[^\s\p{L}\p{N}]+[\r\n]*  (llama.cpp tests the unshifted flags for "defined" here)
                var flags2 = cpt == ' ' ? piece.Flags(pos + 1) : flags;
                if (!Has(flags2, CodepointFlags.Whitespace | CodepointFlags.Letter | CodepointFlags.Number) && flags != CodepointFlags.None)
                {
                    pos += cpt == ' ' ? 1 : 0;
                    while (IsOther(flags2))
                    {
                        flags2 = piece.Flags(++pos);
                    }
                    var cpt2 = piece.Cpt(pos);
                    while (cpt2 is '\r' or '\n')
                    {
                        cpt2 = piece.Cpt(++pos);
                    }
                    piece.AddToken(pos);
                    continue;
                }

                var whitespaces = 0;
                var lastEndOfLine = 0;
                while (Has(piece.Flags(pos + whitespaces), CodepointFlags.Whitespace))
                {
                    var cpt2 = piece.Cpt(pos + whitespaces);
                    if (cpt2 is '\r' or '\n')
                    {
                        lastEndOfLine = pos + whitespaces + 1;
                    }
                    whitespaces++;
                }
                // \s*[\r\n]+
                if (lastEndOfLine > 0)
                {
                    pos = lastEndOfLine;
                    piece.AddToken(pos);
                    continue;
                }
                if (whitespaces > 1 && piece.Cpt(pos + whitespaces) != Piece.OutOfRange)
                {
                    pos += whitespaces - 1;
                    piece.AddToken(pos);
                    continue;
                }
                if (whitespaces > 0)
                {
                    pos += whitespaces;
                    piece.AddToken(pos);
                    continue;
                }
                piece.AddToken(++pos);
            }
        }
        return result;
    }

    static bool Has(CodepointFlags flags, CodepointFlags any) => (flags & any) != 0;

    /// <summary>[^\s\p{L}\p{N}] for a position inside the piece (a position outside has no flags at all).</summary>
    static bool IsOther(CodepointFlags flags) =>
        !Has(flags, CodepointFlags.Whitespace | CodepointFlags.Letter | CodepointFlags.Number) && flags != CodepointFlags.None;

    /// <summary>One piece being split: bounds-checked access and the list of piece lengths it adds to.</summary>
    ref struct Piece
    {
        public const int OutOfRange = -1;

        readonly ReadOnlySpan<int> _cpts;
        readonly List<int> _output;
        int _previousEnd;

        public Piece(ReadOnlySpan<int> cpts, int start, int end, List<int> output)
        {
            _cpts = cpts;
            _output = output;
            Start = start;
            End = end;
            _previousEnd = start;
        }

        public int Start { get; }

        public int End { get; }

        public readonly int Cpt(int pos) => pos >= Start && pos < End ? _cpts[pos] : OutOfRange;

        public readonly CodepointFlags Flags(int pos) =>
            pos >= Start && pos < End ? Codepoints.Flags(_cpts[pos]) : CodepointFlags.None;

        /// <summary>Ends a token at <paramref name="tokenEnd"/>; returns its length (0 adds nothing).</summary>
        public int AddToken(int tokenEnd)
        {
            var length = tokenEnd - _previousEnd;
            if (length > 0)
            {
                _output.Add(length);
            }
            _previousEnd = tokenEnd;
            return length;
        }
    }
}
