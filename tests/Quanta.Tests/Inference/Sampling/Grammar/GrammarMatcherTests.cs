using System.Text;
using Quanta.Inference.Sampling.Grammar;

namespace Quanta.Tests.Inference.Sampling.Grammar;

/// <summary>
/// The matcher against llama.cpp's tests/test-grammar-integration.cpp: every string each grammar must accept
/// and must refuse (grammars written by hand, and those llama.cpp's converter made of the JSON schemas), and
/// the left-recursive grammars it must refuse to build.
/// </summary>
public class GrammarMatcherTests
{
    [Theory]
    [MemberData(nameof(GrammarFixtures.IntegrationIndices), MemberType = typeof(GrammarFixtures))]
    public void AcceptsAndRejectsAsLlamaCpp(int index)
    {
        var @case = GrammarFixtures.Integration(index);
        var text = @case.GetProperty("grammar").GetString()!;
        if (@case.GetProperty("kind").GetString() == "fails")
        {
            var error = Assert.Throws<GbnfFormatException>(() => GrammarMatcher.Create(GbnfGrammar.Parse(text)));
            Assert.StartsWith("unsupported grammar: left recursion in rule", error.Message);
            return;
        }
        var matcher = GrammarMatcher.Create(GbnfGrammar.Parse(text));
        foreach (var passing in GrammarFixtures.Strings(@case.GetProperty("passing")))
        {
            Assert.True(matcher.Matches(passing), $"should accept: {passing}");
        }
        foreach (var failing in GrammarFixtures.Strings(@case.GetProperty("failing")))
        {
            Assert.False(matcher.Matches(failing), $"should refuse: {failing}");
        }
    }

    [Fact]
    public void IncompleteUtf8IsCarriedAcrossPieces()
    {
        var matcher = GrammarMatcher.Create(GbnfGrammar.Parse("root ::= \"é\" [a-z]"));
        var e = Encoding.UTF8.GetBytes("é");
        Assert.True(matcher.AcceptText(e.AsSpan(0, 1)));
        Assert.Equal(new PartialUtf8(0b00011, 1), matcher.Partial);
        Assert.True(matcher.AcceptText(e.AsSpan(1)));
        Assert.Equal(0, matcher.Partial.Remaining);
        Assert.False(matcher.CanEnd);
        Assert.True(matcher.AcceptText("x"u8));
        Assert.True(matcher.CanEnd);
        Assert.False(matcher.AcceptText("y"u8));
        Assert.Equal(0, matcher.StackCount);
    }

    [Fact]
    public void DecodesAsLlamaCpp()
    {
        // "a" + the first two bytes of "€" (E2 82 AC): one code point and 1 byte still due
        var (codePoints, partial) = PartialUtf8.Decode([0x61, 0xE2, 0x82], PartialUtf8.None);
        Assert.Equal([0x61u, 0u], codePoints);
        Assert.Equal(new PartialUtf8((0x2u << 6) | 0x02, 1), partial);
        (codePoints, partial) = PartialUtf8.Decode([0xAC, 0x62], partial);
        Assert.Equal([0x20ACu, 0x62u, 0u], codePoints);
        Assert.Equal(0, partial.Remaining);
        // a continuation byte where a lead byte is due: one 0 code point and Remaining -1
        (codePoints, partial) = PartialUtf8.Decode([0x61, 0x80], PartialUtf8.None);
        Assert.Equal([0u], codePoints);
        Assert.Equal(-1, partial.Remaining);
    }
}
