using System.Globalization;
using System.Text;

namespace Quanta.Inference.Tokenizers;

/// <summary>
/// A code point's class as llama.cpp's <c>unicode_cpt_flags</c> sees it: one general-category group plus the
/// White_Space property. The values are llama.cpp's bits, so that "no flags at all" (a position outside the
/// text) and "unassigned" (<see cref="Undefined"/>) stay different, as its hand-written splitters rely on.
/// </summary>
[Flags]
internal enum CodepointFlags : ushort
{
    None = 0,
    Undefined = 0x0001,
    Number = 0x0002,
    Letter = 0x0004,
    Separator = 0x0008,
    AccentMark = 0x0010,
    Punctuation = 0x0020,
    Symbol = 0x0040,
    Control = 0x0080,
    Categories = 0x00FF,
    Whitespace = 0x0100,
}

/// <summary>Code point classification (unicode.cpp's <c>unicode_cpt_flags_from_cpt</c>), from .NET's Unicode tables.</summary>
internal static class Codepoints
{
    public const int MaxCodepoint = 0x10FFFF;

    public static CodepointFlags Flags(int cpt)
    {
        if ((uint)cpt > MaxCodepoint)
        {
            return CodepointFlags.Undefined;
        }
        var flags = Category(cpt);
        if (IsWhitespace(cpt))
        {
            flags |= CodepointFlags.Whitespace;
        }
        return flags;
    }

    static CodepointFlags Category(int cpt)
    {
        if (cpt is >= 0xD800 and <= 0xDFFF)
        {
            // A lone surrogate (only reachable through a CESU-style byte sequence, which llama.cpp decodes).
            return CodepointFlags.Control;
        }
        return CharUnicodeInfo.GetUnicodeCategory(cpt) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CodepointFlags.Letter,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                => CodepointFlags.AccentMark,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
                => CodepointFlags.Number,
            UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                => CodepointFlags.Separator,
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => CodepointFlags.Punctuation,
            UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol => CodepointFlags.Symbol,
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
                or UnicodeCategory.PrivateUse => CodepointFlags.Control,
            _ => CodepointFlags.Undefined,
        };
    }

    /// <summary>The Unicode White_Space property: llama.cpp's <c>unicode_set_whitespace</c>.</summary>
    public static bool IsWhitespace(int cpt) => cpt switch
    {
        >= 0x09 and <= 0x0D => true,
        0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary>Simple lowercase mapping (unicode.cpp's <c>unicode_tolower</c>).</summary>
    public static int ToLower(int cpt) =>
        (uint)cpt > MaxCodepoint || cpt is >= 0xD800 and <= 0xDFFF ? cpt : Rune.ToLowerInvariant(new Rune(cpt)).Value;

    /// <summary>The first code point of the canonical decomposition (llama.cpp's <c>unicode_ranges_nfd</c>).</summary>
    public static int FirstOfNfd(int cpt) => cpt < 0xC0 ? cpt : NfdTable.FirstOfNfd(cpt);
}
