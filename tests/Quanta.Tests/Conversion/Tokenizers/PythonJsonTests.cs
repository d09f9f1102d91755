namespace Quanta.Tests.Conversion.Tokenizers;

public class PythonJsonTests
{
    [Theory]
    [InlineData(0.0, "0.0")]
    [InlineData(-1000.0, "-1000.0")]
    [InlineData(-1e9, "-1000000000.0")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e-4, "0.0001")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(9.999999747378752e-06, "9.999999747378752e-06")]
    [InlineData(-31743.0, "-31743.0")]
    [InlineData(0.5, "0.5")]
    [InlineData(123.25, "123.25")]
    public void Floats_print_as_python_repr(double value, string expected) =>
        Assert.Equal(expected, PythonJson.FloatRepr(value));

    [Fact]
    public void Strings_escape_as_json_dumps_with_ensure_ascii()
    {
        var sb = new System.Text.StringBuilder();
        PythonJson.AppendString(sb, "a\"\\\n\u2581\u0001\U0001F600");
        Assert.Equal("\"a\\\"\\\\\\n\\u2581\\u0001\\ud83d\\ude00\"", sb.ToString());
    }
}
