using System.Text;

namespace Quanta.Inference.Tokenizers;

/// <summary>
/// Turns tokens into text one at a time, as they are generated, without ever cutting a character in two.
/// Each token's piece is appended as llama.cpp's examples print generated text, but byte tokens and byte-level
/// BPE tokens can end in the middle of a UTF-8 sequence, so the bytes of an unfinished character are held back
/// until the tokens that complete it arrive. Bytes that can never become a character come out as U+FFFD as soon
/// as that is certain, so the concatenated output always equals the concatenated pieces decoded at once.
/// </summary>
public sealed class StreamingDetokenizer
{
    readonly Tokenizer _tokenizer;
    readonly bool _special;
    readonly List<byte> _pending = new(8);

    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="special">Write control tokens' text (llama.cpp's <c>special</c> flag of token_to_piece).</param>
    public StreamingDetokenizer(Tokenizer tokenizer, bool special = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _special = special;
    }

    /// <summary>Adds a token; returns the text it completes (possibly empty).</summary>
    public string Push(int token)
    {
        foreach (var b in _tokenizer.TokenToPiece(token, _special))
        {
            _pending.Add(b);
        }
        return TakeComplete(final: false);
    }

    /// <summary>Ends the stream: bytes still held back are given out (an unfinished character as U+FFFD).</summary>
    public string Flush() => TakeComplete(final: true);

    string TakeComplete(bool final)
    {
        var bytes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending);
        var complete = final ? bytes.Length : bytes.Length - IncompleteTail(bytes);
        if (complete == 0)
        {
            return "";
        }
        var text = Encoding.UTF8.GetString(bytes[..complete]);
        _pending.RemoveRange(0, complete);
        return text;
    }

    /// <summary>
    /// How many bytes at the end begin a UTF-8 sequence that more bytes could still complete; 0 when the end is
    /// a character boundary or the tail can never become a character (it is then decoded as U+FFFD at once).
    /// </summary>
    static int IncompleteTail(ReadOnlySpan<byte> bytes)
    {
        for (var back = 1; back <= Math.Min(3, bytes.Length); back++)
        {
            var lead = bytes[^back];
            if ((lead & 0xC0) == 0x80)
            {
                continue;
            }
            var needed = lead switch
            {
                >= 0xC2 and <= 0xDF => 2,
                >= 0xE0 and <= 0xEF => 3,
                >= 0xF0 and <= 0xF4 => 4,
                _ => 0,
            };
            if (needed <= back)
            {
                return 0;
            }
            // The second byte's range depends on the lead (no overlong forms, surrogates or code points past U+10FFFF).
            var (low, high) = lead switch
            {
                0xE0 => (0xA0, 0xBF),
                0xED => (0x80, 0x9F),
                0xF0 => (0x90, 0xBF),
                0xF4 => (0x80, 0x8F),
                _ => (0x80, 0xBF),
            };
            if (back >= 2 && (bytes[^(back - 1)] < low || bytes[^(back - 1)] > high))
            {
                return 0;
            }
            return back;
        }
        return 0;
    }
}
