using System.Text;

namespace Quanta.Inference.Tokenizers;

/// <summary>
/// GPT-2's byte-to-unicode table (<c>bytes_to_unicode</c>; unicode.cpp's <c>unicode_byte_to_utf8_map</c>):
/// printable bytes stand for themselves, the other 68 are moved to U+0100 and up, so that every byte-level BPE
/// token is printable text. Both directions work on byte strings (<see cref="ByteText"/>).
/// </summary>
internal static class ByteLevelEncoding
{
    /// <summary>For each byte, the UTF-8 bytes (as a byte string) of the character that stands for it.</summary>
    static readonly string[] ByteToText = BuildByteToText();

    /// <summary>From the standing-in character's code point to the byte; -1 for characters that stand for none.</summary>
    static readonly Dictionary<int, byte> CodepointToByte = BuildCodepointToByte();

    static int[] StandIns()
    {
        var map = new int[256];
        Array.Fill(map, -1);
        for (var b = 0x21; b <= 0x7E; b++)
        {
            map[b] = b;
        }
        for (var b = 0xA1; b <= 0xAC; b++)
        {
            map[b] = b;
        }
        for (var b = 0xAE; b <= 0xFF; b++)
        {
            map[b] = b;
        }
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            if (map[b] < 0)
            {
                map[b] = 256 + n++;
            }
        }
        return map;
    }

    static string[] BuildByteToText()
    {
        var standIns = StandIns();
        var result = new string[256];
        var builder = new StringBuilder(2);
        for (var b = 0; b < 256; b++)
        {
            builder.Clear();
            ByteText.AppendUtf8(builder, standIns[b]);
            result[b] = builder.ToString();
        }
        return result;
    }

    static Dictionary<int, byte> BuildCodepointToByte()
    {
        var standIns = StandIns();
        var result = new Dictionary<int, byte>(256);
        for (var b = 0; b < 256; b++)
        {
            result[standIns[b]] = (byte)b;
        }
        return result;
    }

    /// <summary>The byte-level text standing for one byte.</summary>
    public static string Encode(byte b) => ByteToText[b];

    /// <summary>The byte a code point stands for, or -1 when it stands for none.</summary>
    public static int Decode(int cpt) => CodepointToByte.TryGetValue(cpt, out var b) ? b : -1;
}
