using Quanta.Cli.Rendering;
using Xunit;
using Quanta.Templates.Go;

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

    // What Go's encoding/json writes for float32(x) (Ollama's model_info holds GGUF f32 values as float32):
    // shortest round-trip digits, plain decimals from 1e-6 to below 1e21, "e-7" without padding, "e+21".
    [Theory]
    [InlineData(1e-5f, "0.00001")]
    [InlineData(1e-6f, "0.000001")]
    [InlineData(1e-7f, "1e-7")]
    [InlineData(10000f, "10000")]
    [InlineData(0.1f, "0.1")]
    [InlineData(-0.5f, "-0.5")]
    [InlineData(123456789f, "123456790")]
    [InlineData(1e21f, "1e+21")]
    [InlineData(float.MaxValue, "3.4028235e+38")]
    [InlineData(0f, "0")]
    public void GoFloat_single_is_what_encoding_json_writes(float value, string expected) =>
        Assert.Equal(expected, GoJson.Float(value, single: true));

    // The same for float64 (GGUF f64 values).
    [Theory]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(1e-10, "1e-10")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(1e21, "1e+21")]
    [InlineData(1.5e300, "1.5e+300")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(-0.0, "-0")]
    [InlineData(1000000.0, "1000000")]
    public void GoFloat_double_is_what_encoding_json_writes(double value, string expected) =>
        Assert.Equal(expected, GoJson.Float(value, single: false));

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void GoFloat_has_no_text_for_what_Go_refuses(double value)
    {
        Assert.Null(GoJson.Float(value, single: false));
        Assert.Null(GoJson.Float(value, single: true));
    }

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
