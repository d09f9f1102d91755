namespace Quanta.Inference.Sampling.Grammar;

/// <summary>
/// The bytes of a UTF-8 sequence a token ended in the middle of (<c>llama_partial_utf8</c>): the bits decoded
/// so far and how many continuation bytes are still due; −1 marks an invalid sequence.
/// </summary>
public readonly record struct PartialUtf8(uint Value, int Remaining)
{
    /// <summary>No pending sequence.</summary>
    public static PartialUtf8 None => default;

    /// <summary>
    /// Decodes <paramref name="bytes"/> after the pending sequence <paramref name="start"/>, as llama.cpp's
    /// <c>decode_utf8(std::string, llama_partial_utf8)</c> does: the whole code points (followed by a 0 that
    /// ends the list, as llama.cpp's matcher expects) and the sequence left incomplete at the end. An invalid
    /// byte gives the single code point 0 and <c>Remaining</c> −1. Decoding stops at a 0 byte, as the C
    /// string does.
    /// </summary>
    public static (uint[] CodePoints, PartialUtf8 Partial) Decode(ReadOnlySpan<byte> bytes, PartialUtf8 start)
    {
        ReadOnlySpan<int> lookup = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4];
        var codePoints = new List<uint>(bytes.Length + 1);
        var value = start.Value;
        var remaining = start.Remaining;
        var pos = 0;

        while (At(bytes, pos) != 0 && remaining > 0)
        {
            var next = At(bytes, pos);
            if (next >> 6 != 2)
            {
                return ([0], new PartialUtf8(0, -1));
            }
            value = (value << 6) + (uint)(next & 0x3F);
            pos++;
            remaining--;
        }
        if (start.Remaining > 0 && remaining == 0)
        {
            codePoints.Add(value);
        }
        while (At(bytes, pos) != 0)
        {
            var first = At(bytes, pos);
            remaining = lookup[first >> 4] - 1;
            if (remaining < 0)
            {
                return ([0], new PartialUtf8(0, remaining));
            }
            var mask = (1u << (7 - remaining)) - 1;
            value = first & mask;
            pos++;
            while (At(bytes, pos) != 0 && remaining > 0)
            {
                value = (value << 6) + (uint)(At(bytes, pos) & 0x3F);
                pos++;
                remaining--;
            }
            if (remaining == 0)
            {
                codePoints.Add(value);
            }
        }
        codePoints.Add(0);
        return ([.. codePoints], new PartialUtf8(value, remaining));
    }

    // the byte at i, or the terminating 0 of the C string llama.cpp walks
    static byte At(ReadOnlySpan<byte> bytes, int i) => i < bytes.Length ? bytes[i] : (byte)0;
}
