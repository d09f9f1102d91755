using System.Text;
using Quanta.Store;

namespace Quanta.Tests.Store;

public class ModelfileTests
{
    static ModelfileInstruction I(ModelfileCommand command, string value, string? key = null) => new(command, key, value);

    static ModelfileException Fails(string text) => Assert.Throws<ModelfileException>(() => Modelfile.Parse(text));

    [Fact]
    public void Parses_every_command_case_insensitively()
    {
        var file = Modelfile.Parse("""
            from model.gguf
            Adapter lora.gguf
            TEMPLATE {{ .Prompt }}
            system be brief
            LICENSE MIT
            draft small.gguf
            renderer qwen3
            PARSER qwen3
            parameter temperature 0.5
            MESSAGE user hi
            requires 0.14.0
            """);
        Assert.Equal(
            [
                I(ModelfileCommand.From, "model.gguf"), I(ModelfileCommand.Adapter, "lora.gguf"), I(ModelfileCommand.Template, "{{ .Prompt }}"),
                I(ModelfileCommand.System, "be brief"), I(ModelfileCommand.License, "MIT"), I(ModelfileCommand.Draft, "small.gguf"),
                I(ModelfileCommand.Renderer, "qwen3"), I(ModelfileCommand.Parser, "qwen3"), I(ModelfileCommand.Parameter, "0.5", "temperature"),
                I(ModelfileCommand.Message, "hi", "user"), I(ModelfileCommand.Requires, "0.14.0"),
            ],
            file.Instructions);
        Assert.Equal("0.14.0", file.Requires);
        Assert.Equal(["lora.gguf"], file.Adapters);
        Assert.Equal([("user", "hi")], file.Messages);
    }

    [Theory]
    [InlineData("FROM x\nSYSTEM plain value  ", "plain value")]
    [InlineData("FROM x\nSYSTEM \"quoted  \"", "quoted  ")]
    [InlineData("FROM x\nSYSTEM \"\"\"triple \"inner\" quotes\"\"\"", "triple \"inner\" quotes")]
    [InlineData("FROM x\nSYSTEM \"line one\nline two\"", "line one\nline two")]
    [InlineData("FROM x\nSYSTEM \"\"\"\nline one\n  line two\n\"\"\"", "\nline one\n  line two\n")]
    [InlineData("FROM x\nSYSTEM \"\"\"''\"'\"\"'\"\"\"", "''\"'\"\"'")]
    [InlineData("FROM x\nSYSTEM \"\"", "")]
    [InlineData("FROM x\nSYSTEM a # not a comment", "a # not a comment")]
    [InlineData("FROM x\nSYSTEM 'single quotes stay'", "'single quotes stay'")]
    [InlineData("FROM x\nSYSTEM \"a\tb\"", "a\tb")]
    [InlineData("FROM x\r\nSYSTEM crlf\r\n", "crlf")]
    [InlineData("FROM x\nSYSTEM    leading spaces", "leading spaces")]
    [InlineData("FROM x\nSYSTEM 日本語 ✓", "日本語 ✓")]
    public void Quoting_forms(string text, string expected) =>
        Assert.Equal(expected, Modelfile.Parse(text).System);

    [Fact]
    public void Comments_anywhere_an_instruction_could_start()
    {
        var file = Modelfile.Parse("# first\n  # indented\nFROM x # kept\n\t# tab\nSYSTEM s\n# last");
        Assert.Equal(["x # kept"], file.From);
        Assert.Equal("s", file.System);
        Assert.Equal(2, file.Instructions.Count);
    }

    [Fact]
    public void Values_spanning_lines_keep_line_numbers_for_later_errors()
    {
        var e = Fails("FROM x\nTEMPLATE \"\"\"\na\nb\n\"\"\"\nPARAMETER tempreature 1\n");
        Assert.Equal(6, e.Line);
        Assert.Equal("(line 6): unknown parameter 'tempreature'; did you mean 'temperature'?", e.Message);
    }

    [Theory]
    [InlineData("FROM x\nFOO bar", 2, "command must be one of \"from\", \"license\", \"template\", \"system\", \"adapter\", \"draft\", \"renderer\", \"parser\", \"parameter\", \"message\", or \"requires\"")]
    [InlineData("FROM x\n\n\nFR0M y", 4, "command must be one of")]
    [InlineData("FROM x\nSYSTEM\n", 2, "SYSTEM needs a value")]
    [InlineData("FROM\n", 1, "FROM needs a file path or a model name")]
    [InlineData("FROM", 1, "FROM needs a file path or a model name")]
    [InlineData("FROM   \nSYSTEM s", 1, "FROM needs a file path or a model name")]
    [InlineData("FROM x\nADAPTER\r\n", 2, "ADAPTER needs a file path or a model name")]
    [InlineData("FROM x\nMESSAGE bot hi", 2, "message role must be one of \"system\", \"user\", or \"assistant\"")]
    [InlineData("FROM x\nMESSAGE User hi", 2, "message role must be one of")]
    [InlineData("FROM x\nPARAMETER temperature hot", 2, "invalid float value [hot]")]
    [InlineData("FROM x\nPARAMETER top_k 4.5", 2, "invalid int value [4.5]")]
    [InlineData("FROM x\nPARAMETER use_mmap maybe", 2, "invalid bool value [maybe]")]
    [InlineData("FROM x\nPARAMETER num_gqa 8", 2, "unknown parameter 'num_gqa'")]
    [InlineData("FROM x\nPARAMETER temp-erature 1", 2, "invalid character '-' in parameter name")]
    [InlineData("FROM x\nPARAMETER temperature\n", 2, "PARAMETER needs a name and a value")]
    [InlineData("FROM x\nREQUIRES latest", 2, "requires must be a valid semver (e.g. 0.14.0)")]
    [InlineData("FROM x\nSYSTEM \"\"\"never closed\nmore", 2, "unexpected EOF")]
    [InlineData("FROM x\nSYSTEM \"never closed", 2, "unexpected EOF")]
    [InlineData("FROM x\nSYSTEM", 2, "SYSTEM needs a value")]
    public void Errors_name_the_line_and_what_was_expected(string text, int line, string message)
    {
        var e = Fails(text);
        Assert.Equal(line, e.Line);
        Assert.StartsWith($"(line {line}): {message}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SYSTEM hi")]
    [InlineData("")]
    [InlineData("# only a comment")]
    public void A_FROM_line_is_required(string text) => Assert.Equal("no FROM line", Fails(text).Message);

    [Fact]
    public void Parameters_are_typed_and_stop_accumulates()
    {
        var file = Modelfile.Parse("""
            FROM x
            PARAMETER num_ctx 4096
            PARAMETER temperature 0.7
            PARAMETER top_k 40
            PARAMETER top_p 0.9
            PARAMETER min_p 0.05
            PARAMETER seed -1
            PARAMETER num_predict 128
            PARAMETER repeat_penalty 1.1
            PARAMETER use_mmap false
            PARAMETER main_gpu 0
            PARAMETER stop <|eot_id|>
            PARAMETER stop "<|end|>"
            PARAMETER temperature 0.2
            """);
        Assert.Equal(
            """{"main_gpu":0,"min_p":0.05,"num_ctx":4096,"num_predict":128,"repeat_penalty":1.1,"seed":-1,"stop":["\u003c|eot_id|\u003e","\u003c|end|\u003e"],"temperature":0.2,"top_k":40,"top_p":0.9,"use_mmap":false}""" + "\n",
            Encoding.UTF8.GetString(file.Parameters.ToJson()));
    }

    [Fact]
    public void Every_known_parameter_accepts_a_value_of_its_type()
    {
        foreach (var (name, kind) in ModelParameters.Known)
        {
            var value = kind switch { ParameterKind.Int => "3", ParameterKind.Float => "0.25", ParameterKind.Bool => "true", _ => "END" };
            var file = Modelfile.Parse($"FROM x\nPARAMETER {name} {value}");
            Assert.Equal([name], file.Parameters.Names);
        }
    }

    [Fact]
    public void Deprecated_parameters_are_warned_about_and_ignored()
    {
        var file = Modelfile.Parse("FROM x\nPARAMETER mirostat 2\nPARAMETER penalize_newline true\nPARAMETER top_k 1");
        Assert.Equal(["parameter mirostat is deprecated", "parameter penalize_newline is deprecated"], file.Warnings);
        Assert.Equal(["top_k"], file.Parameters.Names);
    }

    [Theory]
    [InlineData("utf-16le")]
    [InlineData("utf-16be")]
    [InlineData("utf-8-bom")]
    public void Reads_utf16_and_utf8_with_a_byte_order_mark(string encoding)
    {
        const string text = "FROM x\nSYSTEM héllo ✓ 日本\n";
        var bytes = encoding switch
        {
            "utf-16le" => [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(text)],
            "utf-16be" => [0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes(text)],
            _ => (byte[])[0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)],
        };
        var file = Modelfile.Parse(bytes);
        Assert.Equal(["x"], file.From);
        Assert.Equal("héllo ✓ 日本", file.System);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("two words")]
    [InlineData(" leading")]
    [InlineData("trailing ")]
    [InlineData("multi\nline")]
    [InlineData("multi\nline with \"quotes\"")]
    [InlineData("\"starts with a quote")]
    [InlineData("ends with a quote\"")]
    [InlineData("\"")]
    [InlineData("")]
    [InlineData("# hash")]
    [InlineData("{{ if .System }}<|system|>\n{{ .System }}{{ end }}")]
    public void Formatted_values_parse_back_the_same(string value)
    {
        var instructions = new[]
        {
            new ModelfileInstruction(ModelfileCommand.From, null, "model.gguf"),
            new ModelfileInstruction(ModelfileCommand.System, null, value),
            new ModelfileInstruction(ModelfileCommand.Message, "user", value),
            new ModelfileInstruction(ModelfileCommand.Parameter, "stop", value.Length == 0 ? "x" : value),
        };
        var text = ModelfileFormatter.Format(instructions);
        Assert.Equal(instructions, Modelfile.Parse(text).Instructions);
    }

    [Fact]
    public void ToString_round_trips_a_whole_file()
    {
        var file = Modelfile.Parse("FROM ./a b.gguf\nTEMPLATE \"\"\"{{ .Prompt }}\n\"\"\"\nPARAMETER stop \"  x\"\nMESSAGE assistant \"ok \"\nLICENSE \"\"\"line 1\nline \"2\"\"\"\"\n");
        Assert.Equal(file.Instructions, Modelfile.Parse(file.ToString()).Instructions);
    }
}
