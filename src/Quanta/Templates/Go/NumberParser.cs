using System.Numerics;
using System.Text;

namespace Quanta.Templates.Go;

/// <summary>
/// Go's <c>Tree.newNumber</c>: a number token as every Go type it fits (int64, uint64, float64, complex128), with
/// Go's rules and error texts (<c>integer overflow: "99999999999999999999"</c>, <c>illegal number syntax: "089x"</c>).
/// </summary>
internal static class NumberParser
{
    /// <summary>The number node, or null with Go's error text in <paramref name="error"/>.</summary>
    public static NumberNode? Parse(int position, string text, TokenKind kind, out string error)
    {
        error = "";
        var node = new NumberNode(position, text);
        if (kind == TokenKind.CharConstant)
        {
            if (!GoSyntax.TryUnquoteChar(text.AsSpan(1), text[0], out var value, out var consumed))
            {
                error = GoSyntax.InvalidSyntax;
                return null;
            }
            if (text[(1 + consumed)..] != "'")
            {
                error = $"malformed character constant: {text}";
                return null;
            }
            var rune = Rune.GetRuneAt(value, 0).Value;
            node.Int64 = rune;
            node.IsInt = true;
            node.UInt64 = (ulong)rune;
            node.IsUint = true;
            node.Float64 = rune; // odd, but those are Go's rules
            node.IsFloat = true;
            return node;
        }
        if (kind == TokenKind.Complex)
        {
            if (!TryParseComplex(text, out var complex))
            {
                error = $"illegal number syntax: {GoSyntax.Quote(text)}";
                return null;
            }
            node.IsComplex = true;
            node.Complex128 = complex;
            SimplifyComplex(node);
            return node;
        }
        // Imaginary constants are complex unless they are zero.
        if (text.EndsWith('i') && GoSyntax.TryParseFloat(text[..^1], out var imaginary))
        {
            node.IsComplex = true;
            node.Complex128 = new Complex(0, imaginary);
            SimplifyComplex(node);
            return node;
        }
        // Integers first, so that 0x123 is read as such.
        var isUint = GoSyntax.TryParseUint(text, out var u);
        if (isUint)
        {
            node.IsUint = true;
            node.UInt64 = u;
        }
        if (GoSyntax.TryParseInt(text, out var i))
        {
            node.IsInt = true;
            node.Int64 = i;
            if (i == 0)
            {
                node.IsUint = true; // in case of -0
                node.UInt64 = u;
            }
        }
        if (node.IsInt)
        {
            node.IsFloat = true;
            node.Float64 = node.Int64;
        }
        else if (node.IsUint)
        {
            node.IsFloat = true;
            node.Float64 = node.UInt64;
        }
        else if (GoSyntax.TryParseFloat(text, out var f))
        {
            // A float that looks like an integer is an integer too large to fit.
            if (text.AsSpan().IndexOfAny(".eEpP") < 0)
            {
                error = $"integer overflow: {GoSyntax.Quote(text)}";
                return null;
            }
            node.IsFloat = true;
            node.Float64 = f;
            if (FitsInt64(f))
            {
                node.IsInt = true;
                node.Int64 = (long)f;
            }
            if (FitsUInt64(f))
            {
                node.IsUint = true;
                node.UInt64 = (ulong)f;
            }
        }
        if (!node.IsInt && !node.IsUint && !node.IsFloat)
        {
            error = $"illegal number syntax: {GoSyntax.Quote(text)}";
            return null;
        }
        return node;
    }

    static bool FitsInt64(double f) => f >= -9223372036854775808.0 && f < 9223372036854775808.0 && Math.Floor(f) == f;

    static bool FitsUInt64(double f) => f >= 0 && f < 18446744073709551616.0 && Math.Floor(f) == f;

    /// <summary>The imaginary part of a complex constant is zero: it is also a float (and perhaps an integer).</summary>
    static void SimplifyComplex(NumberNode node)
    {
        node.IsFloat = node.Complex128.Imaginary == 0;
        if (node.IsFloat)
        {
            var f = node.Complex128.Real;
            node.Float64 = f;
            node.IsInt = FitsInt64(f);
            if (node.IsInt)
            {
                node.Int64 = (long)f;
            }
            node.IsUint = FitsUInt64(f);
            if (node.IsUint)
            {
                node.UInt64 = (ulong)f;
            }
        }
    }

    /// <summary>"1+2i", "-1.5e3-2i": a real part and an imaginary part, split at the sign between them.</summary>
    static bool TryParseComplex(string text, out Complex value)
    {
        value = default;
        for (var i = text.Length - 2; i > 0; i--)
        {
            if (text[i] is '+' or '-' && char.ToLowerInvariant(text[i - 1]) is not ('e' or 'p'))
            {
                if (GoSyntax.TryParseFloat(text[..i], out var real) && GoSyntax.TryParseFloat(text[i..^1], out var imaginary))
                {
                    value = new Complex(real, imaginary);
                    return true;
                }
                return false;
            }
        }
        return false;
    }
}
