using System.Text;

namespace Quanta.Inference.Tokenizers;

/// <summary>
/// Text as llama.cpp's tokenizers see it: bytes, not characters. A "byte string" here is a .NET string whose
/// chars are the bytes 0–255 (Latin-1), so that UTF-8 that is cut in the middle or invalid survives intact,
/// while hash lookups, <see cref="string.IndexOf(string, StringComparison)"/> and spans still work.
/// </summary>
internal static class ByteText
{
    public const int ReplacementCharacter = 0xFFFD;

    public static string FromBytes(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    public static string FromUtf8(string text) => Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text));

    public static byte[] ToBytes(ReadOnlySpan<char> raw)
    {
        var bytes = new byte[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            bytes[i] = (byte)raw[i];
        }
        return bytes;
    }

    /// <summary>The length of the UTF-8 sequence a lead byte announces (unicode.cpp's <c>unicode_len_utf8</c>).</summary>
    public static int SequenceLength(char leadByte) => (leadByte >> 4) switch
    {
        < 12 => 1,
        12 or 13 => 2,
        14 => 3,
        _ => 4,
    };

    /// <summary>
    /// Code points of a byte string as unicode.cpp's <c>unicode_cpts_from_utf8</c> decodes them: a byte that
    /// does not start a complete sequence becomes U+FFFD and decoding resumes at the next byte.
    /// </summary>
    public static int[] Codepoints(ReadOnlySpan<char> raw)
    {
        var result = new List<int>(raw.Length);
        var offset = 0;
        while (offset < raw.Length)
        {
            result.Add(DecodeOne(raw, ref offset));
        }
        return [.. result];
    }

    /// <summary>Decodes one code point at <paramref name="offset"/> and moves past it (one byte for an invalid sequence, giving U+FFFD).</summary>
    public static int DecodeOne(ReadOnlySpan<char> s, ref int offset)
    {
        int b0 = s[offset];
        if ((b0 & 0x80) == 0)
        {
            offset += 1;
            return b0;
        }
        if ((b0 & 0x40) != 0)
        {
            if ((b0 & 0x20) == 0)
            {
                if (offset + 1 < s.Length && IsContinuation(s[offset + 1]))
                {
                    var cpt = ((b0 & 0x1F) << 6) | (s[offset + 1] & 0x3F);
                    offset += 2;
                    return cpt;
                }
            }
            else if ((b0 & 0x10) == 0)
            {
                if (offset + 2 < s.Length && IsContinuation(s[offset + 1]) && IsContinuation(s[offset + 2]))
                {
                    var cpt = ((b0 & 0x0F) << 12) | ((s[offset + 1] & 0x3F) << 6) | (s[offset + 2] & 0x3F);
                    offset += 3;
                    return cpt;
                }
            }
            else if ((b0 & 0x08) == 0)
            {
                if (offset + 3 < s.Length && IsContinuation(s[offset + 1]) && IsContinuation(s[offset + 2])
                    && IsContinuation(s[offset + 3]))
                {
                    var cpt = ((b0 & 0x07) << 18) | ((s[offset + 1] & 0x3F) << 12) | ((s[offset + 2] & 0x3F) << 6)
                        | (s[offset + 3] & 0x3F);
                    offset += 4;
                    return cpt;
                }
            }
        }
        offset += 1;
        return ReplacementCharacter;
    }

    static bool IsContinuation(char b) => (b & 0xC0) == 0x80;

    /// <summary>Writes a code point's UTF-8 bytes (unicode.cpp's <c>unicode_cpt_to_utf8</c>); returns their count.</summary>
    public static int EncodeUtf8(int cpt, Span<char> destination)
    {
        if (cpt <= 0x7F)
        {
            destination[0] = (char)cpt;
            return 1;
        }
        if (cpt <= 0x7FF)
        {
            destination[0] = (char)(0xC0 | ((cpt >> 6) & 0x1F));
            destination[1] = (char)(0x80 | (cpt & 0x3F));
            return 2;
        }
        if (cpt <= 0xFFFF)
        {
            destination[0] = (char)(0xE0 | ((cpt >> 12) & 0x0F));
            destination[1] = (char)(0x80 | ((cpt >> 6) & 0x3F));
            destination[2] = (char)(0x80 | (cpt & 0x3F));
            return 3;
        }
        destination[0] = (char)(0xF0 | ((cpt >> 18) & 0x07));
        destination[1] = (char)(0x80 | ((cpt >> 12) & 0x3F));
        destination[2] = (char)(0x80 | ((cpt >> 6) & 0x3F));
        destination[3] = (char)(0x80 | (cpt & 0x3F));
        return 4;
    }

    /// <summary>Appends a code point's UTF-8 bytes.</summary>
    public static void AppendUtf8(StringBuilder builder, int cpt)
    {
        Span<char> bytes = stackalloc char[4];
        builder.Append(bytes[..EncodeUtf8(cpt, bytes)]);
    }

    /// <summary>Whether the bytes are well-formed UTF-8 (what a terminal can print as text).</summary>
    public static bool IsValidUtf8(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);
}
