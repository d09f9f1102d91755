using Quanta.Formats.Gguf;
using Xunit;

namespace Quanta.Tests.Formats.Gguf;

/// <summary>
/// The lenient getters summaries, show and Ollama's import rules share: a key of another type is "not there",
/// where the strict getters (llama.cpp's loader rule) refuse the file.
/// </summary>
public sealed class GgufMetadataLenientTests
{
    static GgufMetadata Sample() => new(
    [
        new("s", GgufValue.String("llama")),
        new("u8", GgufValue.UInt8(200)),
        new("i8", GgufValue.Int8(-5)),
        new("u32", GgufValue.UInt32(4_000_000_000)),
        new("i64", GgufValue.Int64(-9_000_000_000)),
        new("u64.max", GgufValue.UInt64(ulong.MaxValue)),
        new("f32", GgufValue.Float32(1e-5f)),
        new("f64", GgufValue.Float64(0.25)),
        new("b", GgufValue.Bool(true)),
        new("wrong.arch", GgufValue.UInt32(7)),
    ]);

    [Fact]
    public void Strings_are_read_only_from_string_values()
    {
        var metadata = Sample();
        Assert.Equal("llama", metadata.LenientString("s"));
        Assert.Null(metadata.LenientString("wrong.arch"));
        Assert.Null(metadata.LenientString("missing"));
        // The strict getter refuses what the lenient one passes over.
        Assert.Throws<GgufFormatException>(() => metadata.GetString("wrong.arch"));
    }

    [Theory]
    [InlineData("u8", 200L)]
    [InlineData("i8", -5L)]
    [InlineData("u32", 4_000_000_000L)]
    [InlineData("i64", -9_000_000_000L)]
    public void Integers_of_any_width_and_sign(string key, long expected)
    {
        Assert.Equal(expected, Sample().LenientInteger(key));
    }

    [Theory]
    [InlineData("u64.max")]
    [InlineData("s")]
    [InlineData("f32")]
    [InlineData("b")]
    [InlineData("missing")]
    public void Anything_else_is_no_integer(string key)
    {
        Assert.Null(Sample().LenientInteger(key));
    }

    [Fact]
    public void Floats_of_either_width()
    {
        var metadata = Sample();
        Assert.Equal((double)1e-5f, metadata.LenientFloat("f32"));
        Assert.Equal(0.25, metadata.LenientFloat("f64"));
        Assert.Null(metadata.LenientFloat("u32"));
        Assert.Null(metadata.LenientFloat("missing"));
    }
}
