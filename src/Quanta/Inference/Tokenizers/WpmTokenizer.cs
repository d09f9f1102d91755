using System.Text;

namespace Quanta.Inference.Tokenizers;

/// <summary>
/// WordPiece as llama.cpp runs it for BERT (llama-vocab.cpp's <c>llm_tokenizer_wpm_session</c>, February 2025):
/// the text is lowercased, accents folded to the base letter, split at whitespace and around punctuation and
/// CJK characters; each word, prefixed by U+2581, is covered by the longest tokens from left to right, or becomes
/// the unknown token as a whole.
/// </summary>
internal sealed class WpmTokenizer(Vocabulary vocabulary)
{
    const string PhantomSpace = "\u00E2\u0096\u0081"; // U+2581 as a byte string

    public void Tokenize(string text, List<int> output)
    {
        foreach (var word in Preprocess(text))
        {
            if (word.Length == 0)
            {
                continue;
            }
            var word1 = PhantomSpace + word;
            var n = word1.Length;
            var before = output.Count;
            for (var i = 0; i < n; i++)
            {
                var match = false;
                for (var j = Math.Min(n, i + vocabulary.MaxTokenLength + 1); j > i; j--)
                {
                    var id = vocabulary.FindBytes(word1.AsSpan(i, j - i));
                    if (id != Vocabulary.NoToken)
                    {
                        output.Add(id);
                        match = true;
                        i = j - 1;
                        break;
                    }
                }
                if (!match)
                {
                    output.RemoveRange(before, output.Count - before);
                    break;
                }
            }
            if (output.Count == before)
            {
                output.Add(vocabulary.Unknown);
            }
        }
    }

    static List<string> Preprocess(string text)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (var original in ByteText.Codepoints(text))
        {
            var cpt = Codepoints.FirstOfNfd(original);
            var flags = Codepoints.Flags(cpt);
            if ((flags & CodepointFlags.Whitespace) != 0)
            {
                Finish(words, current);
                continue;
            }
            if (cpt == 0 || cpt == ByteText.ReplacementCharacter || (flags & CodepointFlags.Control) != 0)
            {
                continue;
            }
            var lower = Codepoints.ToLower(cpt);
            if ((flags & CodepointFlags.Punctuation) != 0 || (cpt < 0x7F && (flags & CodepointFlags.Symbol) != 0) || IsChinese(cpt))
            {
                Finish(words, current);
                ByteText.AppendUtf8(current, lower);
                Finish(words, current);
            }
            else
            {
                ByteText.AppendUtf8(current, lower);
            }
        }
        Finish(words, current);
        return words;
    }

    static void Finish(List<string> words, StringBuilder current)
    {
        if (current.Length > 0)
        {
            words.Add(current.ToString());
            current.Clear();
        }
    }

    static bool IsChinese(int cpt) =>
        cpt is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B920 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}
