using Quanta.Cli.Rendering;
using Xunit;

namespace Quanta.Tests.Cli;

public sealed class RenderingTests
{
    [Theory]
    [InlineData(0, "0")]
    [InlineData(999, "999")]
    [InlineData(2304, "2.3K")]
    [InlineData(1_200_000, "1.2M")]
    [InlineData(3_410_176, "3.41M")]
    [InlineData(124_439_808, "124M")]
    [InlineData(7_241_732_096, "7.24B")]
    [InlineData(70_553_706_496, "70.6B")]
    public void Count_UsesThreeSignificantDigits(long value, string expected) =>
        Assert.Equal(expected, Humanize.Count(value));

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1024, "1 KiB")]
    [InlineData(6_841_472, "6.52 MiB")]
    [InlineData(4_368_439_584, "4.07 GiB")]
    public void Bytes_UsesBinaryUnits(long value, string expected) =>
        Assert.Equal(expected, Humanize.Bytes(value));

    [Fact]
    public void OneLine_EscapesControlCharactersAndCutsLongText()
    {
        Assert.Equal(@"a\nb\tc", Humanize.OneLine("a\nb\tc"));
        Assert.Equal("xxxxx… (8 chars)", Humanize.OneLine("xxxxxxxx", maxChars: 5));
    }

    [Fact]
    public void PlainTable_AlignsColumns()
    {
        using var output = new StringWriter();
        var table = new TextTable("Things", new TextColumn("NAME"), new TextColumn("SIZE", AlignRight: true));
        table.AddRow("a", "1");
        table.AddRow("longer", "100");
        table.SetFooter("total", "101");

        new PlainReportWriter(output).WriteTable(table);

        Assert.Equal(
            """
            Things
              NAME    SIZE
              a          1
              longer   100
              total    101

            """.ReplaceLineEndings(), output.ToString());
    }
}
