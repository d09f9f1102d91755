using Quanta.Cli.Interactive;
using Quanta.Cli.Rendering;

namespace Quanta.Tests.Cli;

/// <summary>
/// What <c>quanta run</c> prints as Ollama prints it; the expected strings are the output of Go 1.19 running
/// <c>time.Duration.String</c> and a copy of Ollama's <c>displayResponse</c> (cmd/cmd.go) at a width of 24.
/// </summary>
public sealed class RunRenderingTests
{
    [Theory]
    [InlineData(0L, "0s")]
    [InlineData(1L, "1ns")]
    [InlineData(999L, "999ns")]
    [InlineData(1000L, "1µs")]
    [InlineData(1500L, "1.5µs")]
    [InlineData(1234567L, "1.234567ms")]
    [InlineData(999999999L, "999.999999ms")]
    [InlineData(1000000000L, "1s")]
    [InlineData(1500000000L, "1.5s")]
    [InlineData(61000000000L, "1m1s")]
    [InlineData(3600000000000L, "1h0m0s")]
    [InlineData(90500000000L, "1m30.5s")]
    [InlineData(3723456789012L, "1h2m3.456789012s")]
    [InlineData(12345678901234L, "3h25m45.678901234s")]
    public void Durations_read_as_go_writes_them(long nanoseconds, string expected) =>
        Assert.Equal(expected, GoDuration.Format(nanoseconds));

    [Fact]
    public void Word_wrap_is_ollama_s_quirks_included()
    {
        using var output = new StringWriter();
        var writer = new WordWrapWriter(output, wrap: true, () => 24);
        foreach (var piece in (string[])["The quick brown fox ", "jumps over the lazy dog and keeps ", "running; supercalifragilisticexpialidocious", " words\nnew line here and more words to wrap"])
        {
            writer.Write(piece);
        }
        Assert.Equal(
            "The quick brown fox\x1b[3D\x1b[K\nfox jumps over the \x1b[K\nlazy dog and keeps \x1b[K\nrunning; supercalif\x1b[10D\x1b[K\n"
            + "supercalifragilistisupercalifagilisticexpialidocious word\x1b[4D\x1b[K\nwords\nnew line here and m\x1b[1D\x1b[K\nmore words to wrap",
            output.ToString());
    }

    [Fact]
    public void Without_word_wrap_the_text_goes_out_as_it_comes()
    {
        using var output = new StringWriter();
        var writer = new WordWrapWriter(output, wrap: false, () => 24);
        writer.Write("The quick brown fox jumps over the lazy dog and keeps running");
        Assert.Equal("The quick brown fox jumps over the lazy dog and keeps running", output.ToString());
    }
}
