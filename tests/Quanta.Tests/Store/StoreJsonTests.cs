using System.Text;
using System.Text.Json.Nodes;
using Quanta.Store;
using Quanta.Templates.Go;

namespace Quanta.Tests.Store;

/// <summary>
/// The store's JSON blobs against Go's <c>json.NewEncoder(w).Encode(v)</c>, which Ollama uses for them. The expected
/// bytes are Go's output for the same values (go run of json.NewEncoder(os.Stdout).Encode; for \b and \f, Go 1.22's
/// encode.go, which writes them as \b and \f).
/// </summary>
public class StoreJsonTests
{
    [Fact]
    public void Params_of_the_issue_are_gos_bytes_with_the_trailing_newline()
    {
        var parameters = Modelfile.Parse("FROM x\nPARAMETER temperature 0.7\nPARAMETER stop \"</s>\"").Parameters;
        Assert.Equal("{\"stop\":[\"\\u003c/s\\u003e\"],\"temperature\":0.7}\n", Encoding.UTF8.GetString(parameters.ToJson()));
    }

    [Fact]
    public void Strings_are_escaped_as_go_escapes_them()
    {
        var content = "a<b>&c \"q\" \\ / \n\r\t\u0001\u001f\u007f é 😀 \u2028\u2029 \ufffd \b\f";
        var json = StoreJson.Write(w =>
        {
            w.WriteStartArray();
            w.WriteStartObject();
            w.WriteString("role", "user");
            w.WriteString("content", content);
            w.WriteEndObject();
            w.WriteEndArray();
        });
        var expected = "[{\"role\":\"user\",\"content\":\"a\\u003cb\\u003e\\u0026c \\\"q\\\" \\\\ / \\n\\r\\t\\u0001\\u001f\u007f é 😀 \\u2028\\u2029 \ufffd \\b\\f\"}]\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(json));
    }

    [Fact]
    public void Numbers_are_formatted_as_gos_float_encoder_formats_them()
    {
        var array = new JsonArray(
            JsonValue.Create(1e-7f), JsonValue.Create(1e-7), JsonValue.Create(1.5e21), JsonValue.Create(1e20), JsonValue.Create(123456789.0),
            JsonValue.Create(0.000001), JsonValue.Create(0.05f), JsonValue.Create(1.1), JsonValue.Create(-2.5e-10), JsonValue.Create(0.0),
            JsonValue.Create(40L), JsonValue.Create(-1L));
        Assert.Equal("[1e-7,1e-7,1.5e+21,100000000000000000000,123456789,0.000001,0.05,1.1,-2.5e-10,0,40,-1]\n", Encoding.UTF8.GetString(StoreJson.Serialize(array)));
    }

    [Theory]
    [InlineData("1E-07", "1e-7")]
    [InlineData("1.5E+21", "1.5e+21")]
    [InlineData("1E+20", "100000000000000000000")]
    [InlineData("1.25E-06", "0.00000125")]
    [InlineData("9.99E-07", "9.99e-7")]
    [InlineData("0.7", "0.7")]
    [InlineData("-0.0", "-0")]
    [InlineData("12.5", "12.5")]
    [InlineData("1E-10", "1e-10")]
    public void Number_texts_are_rewritten_in_gos_format(string systemTextJson, string go) =>
        Assert.Equal(go, GoJson.Number(systemTextJson));
}
