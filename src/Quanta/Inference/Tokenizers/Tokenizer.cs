using System.Text;

namespace Quanta.Inference.Tokenizers;

/// <summary>
/// Text to token ids and back, exactly as llama.cpp does it (llama-vocab.cpp: <c>tokenize</c>,
/// <c>token_to_piece</c>, <c>detokenize</c>) for SPM, BPE (every pre-tokenizer it names), WPM and UGM vocabularies.
/// Thread-safe: each call works on its own state.
/// </summary>
public sealed class Tokenizer
{
    const string EscapedSpace = "\u00E2\u0096\u0081"; // U+2581 as a byte string

    readonly RegexSplitter? _splitter;
    readonly UgmTokenizer? _ugm;
    readonly byte[]?[] _pieces;

    public Tokenizer(Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        Vocabulary = vocabulary;
        _ugm = vocabulary.Type == VocabularyType.Ugm ? new UgmTokenizer(vocabulary, vocabulary.PrecompiledCharsmap) : null;
        _splitter = vocabulary.PreTokenizer is { } pre ? new RegexSplitter(pre.Regexes) : null;
        _pieces = new byte[]?[vocabulary.Count];
    }

    public Vocabulary Vocabulary { get; }

    /// <summary>Tokenizes UTF-8 text (invalid sequences are tokenized as llama.cpp does, never rejected).</summary>
    /// <param name="addSpecial">Add BOS/EOS/SEP as the vocabulary asks.</param>
    /// <param name="parseSpecial">Turn the text of control tokens (e.g. "&lt;s&gt;") into those tokens.</param>
    public int[] Tokenize(ReadOnlySpan<byte> utf8, bool addSpecial, bool parseSpecial = false) =>
        [.. TokenizeByteString(ByteText.FromBytes(utf8), addSpecial, parseSpecial)];

    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Tokenize(Encoding.UTF8.GetBytes(text), addSpecial, parseSpecial);
    }

    List<int> TokenizeByteString(string raw, bool addSpecial, bool parseSpecial)
    {
        var v = Vocabulary;
        var output = new List<int>(raw.Length / 3 + 4);
        var fragments = SpecialTokenPartition.Partition(v, raw, parseSpecial);
        switch (v.Type)
        {
            case VocabularyType.Spm:
            {
                var spm = new SpmTokenizer(v);
                var previousIsSpecial = true; // a space goes before the first text
                if (addSpecial && v.AddBos)
                {
                    output.Add(v.Bos);
                }
                foreach (var fragment in fragments)
                {
                    if (fragment.IsToken)
                    {
                        output.Add(fragment.Token);
                        previousIsSpecial = true;
                        continue;
                    }
                    var text = raw.Substring(fragment.Offset, fragment.Length);
                    if (v.AddSpacePrefix && previousIsSpecial)
                    {
                        text = " " + text;
                    }
                    spm.Tokenize(text.Replace(" ", EscapedSpace, StringComparison.Ordinal), output);
                    previousIsSpecial = false;
                }
                if (addSpecial && v.AddEos)
                {
                    output.Add(v.Eos);
                }
                break;
            }
            case VocabularyType.Bpe:
            {
                var bpe = new BpeTokenizer(v, _splitter!);
                if (addSpecial && v.AddBos)
                {
                    output.Add(v.Bos);
                }
                foreach (var fragment in fragments)
                {
                    if (fragment.IsToken)
                    {
                        output.Add(fragment.Token);
                        continue;
                    }
                    bpe.Tokenize(raw.Substring(fragment.Offset, fragment.Length), output);
                }
                if (addSpecial && v.AddEos)
                {
                    output.Add(v.Eos);
                }
                if (addSpecial && v.AddSeparator)
                {
                    output.Add(v.Separator);
                }
                break;
            }
            case VocabularyType.Ugm:
            {
                if (addSpecial && v.AddBos)
                {
                    output.Add(v.Bos);
                }
                foreach (var fragment in fragments)
                {
                    if (fragment.IsToken)
                    {
                        output.Add(fragment.Token);
                        continue;
                    }
                    _ugm!.Tokenize(raw.Substring(fragment.Offset, fragment.Length), output);
                }
                if (addSpecial && v.AddEos)
                {
                    output.Add(v.Eos);
                }
                break;
            }
            default:
            {
                var wpm = new WpmTokenizer(v);
                if (addSpecial)
                {
                    output.Add(v.Bos);
                }
                foreach (var fragment in fragments)
                {
                    if (fragment.IsToken)
                    {
                        output.Add(fragment.Token);
                        continue;
                    }
                    wpm.Tokenize(raw.Substring(fragment.Offset, fragment.Length), output);
                }
                if (addSpecial)
                {
                    output.Add(v.Separator);
                }
                break;
            }
        }
        return output;
    }

    /// <summary>
    /// The bytes a token stands for (<c>llama_token_to_piece</c>): control and unknown tokens are empty unless
    /// <paramref name="special"/>; up to <paramref name="leftStrip"/> leading spaces are dropped.
    /// </summary>
    public ReadOnlySpan<byte> TokenToPiece(int token, bool special = true, int leftStrip = 0)
    {
        var attributes = Vocabulary.Attributes(token);
        if (!special && (attributes & (TokenAttributes.Unknown | TokenAttributes.Control)) != 0)
        {
            return [];
        }
        var piece = _pieces[token] ??= ComputePiece(token);
        var start = 0;
        while (start < leftStrip && start < piece.Length && piece[start] == ' ')
        {
            start++;
        }
        return piece.AsSpan(start);
    }

    /// <summary>The piece as text (invalid UTF-8, e.g. half of a character in a byte token, becomes U+FFFD).</summary>
    public string TokenToString(int token, bool special = true) => Encoding.UTF8.GetString(TokenToPiece(token, special));

    byte[] ComputePiece(int token)
    {
        var v = Vocabulary;
        var text = v.RawText(token);
        var attributes = v.RawAttributes(token);
        if ((attributes & (TokenAttributes.Unknown | TokenAttributes.Control | TokenAttributes.UserDefined)) != 0)
        {
            return ByteText.ToBytes(text);
        }
        if ((attributes & TokenAttributes.Normal) != 0)
        {
            return v.Type == VocabularyType.Bpe && !v.EscapeWhitespaces
                ? DecodeByteLevel(text)
                : ByteText.ToBytes(text.Replace(EscapedSpace, " ", StringComparison.Ordinal));
        }
        if ((attributes & TokenAttributes.Byte) != 0)
        {
            return v.Type == VocabularyType.Wpm ? [] : [ByteOfByteToken(text)];
        }
        return [];
    }

    /// <summary>"&lt;0x0A&gt;" → 0x0A: llama.cpp reads the two characters after "&lt;0x" with strtol (hex digits until the first other).</summary>
    static byte ByteOfByteToken(string text)
    {
        var value = 0;
        for (var i = 3; i < Math.Min(5, text.Length); i++)
        {
            var digit = text[i] switch
            {
                >= '0' and <= '9' => text[i] - '0',
                >= 'a' and <= 'f' => text[i] - 'a' + 10,
                >= 'A' and <= 'F' => text[i] - 'A' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                break;
            }
            value = value * 16 + digit;
        }
        return (byte)value;
    }

    /// <summary>llama.cpp's <c>llama_decode_text</c>: byte-level characters back to bytes.</summary>
    static byte[] DecodeByteLevel(string text)
    {
        var bytes = new List<byte>(text.Length);
        Span<char> utf8 = stackalloc char[4];
        foreach (var cpt in ByteText.Codepoints(text))
        {
            var b = ByteLevelEncoding.Decode(cpt);
            if (b >= 0)
            {
                bytes.Add((byte)b);
                continue;
            }
            // A character outside GPT-2's byte alphabet: llama.cpp writes its bytes in hex, then the whole token.
            var builder = new StringBuilder("[UNK_BYTE_0x");
            foreach (var c in utf8[..ByteText.EncodeUtf8(cpt, utf8)])
            {
                builder.Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
            builder.Append(text).Append(']');
            bytes.AddRange(ByteText.ToBytes(builder.ToString()));
        }
        return [.. bytes];
    }

    /// <summary>
    /// Token ids back to bytes (<c>llama_detokenize</c>): with <paramref name="removeSpecial"/>, a leading BOS and a
    /// trailing EOS the vocabulary adds are dropped; <paramref name="unparseSpecial"/> writes control tokens' text.
    /// </summary>
    public byte[] Detokenize(ReadOnlySpan<int> tokens, bool removeSpecial = false, bool unparseSpecial = false)
    {
        var v = Vocabulary;
        var removeSpace = v.AddSpacePrefix;
        if (removeSpecial && v.AddBos && tokens.Length > 0 && tokens[0] == v.Bos)
        {
            removeSpace = false;
            tokens = tokens[1..];
        }
        if (removeSpecial && v.AddEos && tokens.Length > 0 && tokens[^1] == v.Eos)
        {
            tokens = tokens[..^1];
        }
        var text = new List<byte>(tokens.Length * 4);
        foreach (var token in tokens)
        {
            foreach (var b in TokenToPiece(token, unparseSpecial, removeSpace ? 1 : 0))
            {
                text.Add(b);
            }
            removeSpace = false;
        }
        return v.CleanSpaces ? CleanUpSpaces(text) : [.. text];
    }

    /// <summary>Detokenizes to a string (invalid UTF-8 becomes U+FFFD).</summary>
    public string DetokenizeToString(ReadOnlySpan<int> tokens, bool removeSpecial = false, bool unparseSpecial = false) =>
        Encoding.UTF8.GetString(Detokenize(tokens, removeSpecial, unparseSpecial));

    /// <summary>llama.cpp's three clean-up passes: " ?" " !" " ." " ,", then " ' ", then " 's" " 'm" " 're" " 've".</summary>
    static byte[] CleanUpSpaces(List<byte> input)
    {
        var text = input.ToArray();
        var total = text.Length;

        var total1 = total;
        total = total > 0 ? 1 : 0;
        for (var i = 1; i < total1; i++)
        {
            var x = text[i];
            if (text[i - 1] == ' ' && x is (byte)'?' or (byte)'!' or (byte)'.' or (byte)',')
            {
                total--;
            }
            text[total++] = x;
        }

        var total2 = total;
        total = total > 0 ? 1 : 0;
        for (var i = 1; i < total2; i++)
        {
            var x = text[i];
            if (x == '\'' && i + 1 < total2 && text[i - 1] == ' ' && text[i + 1] == ' ')
            {
                total--;
                text[++i] = 0;
            }
            text[total++] = x;
        }

        var total3 = total;
        total = total > 0 ? 1 : 0;
        for (var i = 1; i < total3; i++)
        {
            var x = text[i];
            if (text[i - 1] == ' ' && x == '\'' && i + 1 < total3)
            {
                var x1 = text[i + 1];
                if (x1 is (byte)'s' or (byte)'m')
                {
                    total--;
                }
                else if (x1 is not ((byte)'t' or (byte)'d') && i + 2 < total3)
                {
                    var x2 = text[i + 2];
                    if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e'))
                    {
                        total--;
                    }
                }
            }
            text[total++] = x;
        }
        return text.AsSpan(0, total).ToArray();
    }
}
