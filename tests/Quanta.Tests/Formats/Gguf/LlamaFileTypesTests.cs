using Quanta.Formats.Gguf;
using Xunit;

namespace Quanta.Tests.Formats.Gguf;

public sealed class LlamaFileTypesTests
{
    [Theory]
    [InlineData(0, "F32")]
    [InlineData(1, "F16")]
    [InlineData(7, "Q8_0")]
    [InlineData(15, "Q4_K_M")]
    [InlineData(18, "Q6_K")]
    [InlineData(30, "IQ4_XS")]
    [InlineData(32, "BF16")]
    [InlineData(38, "MXFP4_MOE")]
    [InlineData(41, "Q2_0")]
    public void TryGetName_KnowsLlamaCppFileTypes(long value, string expected)
    {
        Assert.True(LlamaFileTypes.TryGetName(value, out var name));
        Assert.Equal(expected, name);
    }

    [Theory]
    [InlineData(15 | LlamaFileTypes.GuessedFlag, "Q4_K_M (guessed)")]
    [InlineData(5, "Q4_2 (removed from llama.cpp)")]
    [InlineData(99, "unknown (99)")]
    [InlineData(-1, "unknown (-1)")]
    public void Describe_ExplainsUnusualValues(long value, string expected)
    {
        Assert.False(LlamaFileTypes.TryGetName(value, out _));
        Assert.Equal(expected, LlamaFileTypes.Describe(value));
    }
}
