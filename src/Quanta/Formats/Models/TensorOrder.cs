namespace Quanta.Formats.Models;

/// <summary>
/// The order llama.cpp visits (and writes) tensors in: by block number, tensors outside blocks first, then
/// by name (<c>weight_name_comparer</c> in <c>src/llama-model-loader.h</c>). The mix rules count attn_v and
/// ffn tensors in this order, so the order decides which layers get more bits.
/// </summary>
public sealed class TensorOrder : IComparer<string>
{
    public static TensorOrder Instance { get; } = new();

    TensorOrder()
    {
    }

    /// <summary>
    /// The block number as <c>sscanf(name, "blk.%d.", &amp;layer)</c> reads it, or −1 when the name does not
    /// start with <c>blk.</c> followed by a number. Like %d, leading white space and a sign are accepted and
    /// the dot after the number is not required.
    /// </summary>
    public static int LayerOf(string name) => TryGetLayer(name, out var layer) ? layer : -1;

    /// <summary>Reads the block number like <see cref="LayerOf"/>; false when there is none.</summary>
    public static bool TryGetLayer(string name, out int layer)
    {
        ArgumentNullException.ThrowIfNull(name);
        layer = -1;
        if (!name.StartsWith("blk.", StringComparison.Ordinal))
        {
            return false;
        }
        var i = 4;
        while (i < name.Length && IsCSpace(name[i]))
        {
            i++;
        }
        var negative = false;
        if (i < name.Length && name[i] is '+' or '-')
        {
            negative = name[i] == '-';
            i++;
        }
        var start = i;
        long value = 0;
        while (i < name.Length && char.IsAsciiDigit(name[i]))
        {
            // Saturate rather than overflow; a block number that large is nonsense either way.
            value = Math.Min(value * 10 + (name[i] - '0'), (long)int.MaxValue + 1);
            i++;
        }
        if (i == start)
        {
            return false;
        }
        layer = (int)Math.Clamp(negative ? -value : value, int.MinValue, int.MaxValue);
        return true;
    }

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }
        if (x is null)
        {
            return -1;
        }
        if (y is null)
        {
            return 1;
        }
        var layerX = LayerOf(x);
        var layerY = LayerOf(y);
        return layerX != layerY ? layerX.CompareTo(layerY) : CompareUtf8(x, y);
    }

    /// <summary>Sorts items by their tensor names in llama.cpp's order (a stable sort).</summary>
    public static IReadOnlyList<T> Sort<T>(IEnumerable<T> items, Func<T, string> name) =>
        [.. items.OrderBy(name, Instance)];

    // std::string's operator< compares bytes; for UTF-8 that is code point order, which differs from UTF-16
    // ordinal order only when a surrogate pair meets a character in U+E000..U+FFFF.
    static int CompareUtf8(string x, string y)
    {
        var length = Math.Min(x.Length, y.Length);
        for (var i = 0; i < length; i++)
        {
            var a = x[i];
            var b = y[i];
            if (a == b)
            {
                continue;
            }
            if (char.IsSurrogate(a) || char.IsSurrogate(b))
            {
                return CodePointAt(x, i).CompareTo(CodePointAt(y, i));
            }
            return a.CompareTo(b);
        }
        return x.Length.CompareTo(y.Length);
    }

    // A lone surrogate (not valid UTF-16, so never from a GGUF file) counts as its own value.
    static int CodePointAt(string s, int i) =>
        char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])
            ? char.ConvertToUtf32(s[i], s[i + 1])
            : s[i];

    static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
