using Quanta.Codecs;
using Xunit;

namespace Quanta.Tests.Codecs;

public sealed class KQuantArgumentTests
{
    public static TheoryData<string> Types() => new() { "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K" };

    [Theory]
    [MemberData(nameof(Types))]
    public void EncodeRejectsRowLengthNotMultipleOf256(string type)
    {
        var codec = KQuantGoldenTests.CodecFor(type);
        var rows = new float[384];
        Assert.Throws<ArgumentException>(() => codec.Encode(rows, 384, [], new byte[1024]));
        Assert.Throws<ArgumentException>(() => codec.Encode(rows, 0, [], new byte[1024]));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void EncodeRejectsPartialRowsBeforeWriting(string type)
    {
        var codec = KQuantGoldenTests.CodecFor(type);
        var destination = new byte[1024];
        destination.AsSpan().Fill(0xAB);
        Assert.Throws<ArgumentException>(() => codec.Encode(new float[768], 512, [], destination));
        Assert.All(destination, b => Assert.Equal(0xAB, b));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void EncodeRejectsWrongImportanceLengthAndShortDestination(string type)
    {
        var codec = KQuantGoldenTests.CodecFor(type);
        Assert.Throws<ArgumentException>(() => codec.Encode(new float[512], 512, new float[256], new byte[1024]));
        Assert.Throws<ArgumentException>(() => codec.Encode(new float[512], 512, [], new byte[10]));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void DecodeRejectsPartialBlocksAndShortDestination(string type)
    {
        var codec = KQuantGoldenTests.CodecFor(type);
        var blockBytes = Quanta.Formats.GgmlTypeInfo.Of(codec.Type).BlockBytes;
        Assert.Throws<ArgumentException>(() => codec.Decode(new byte[blockBytes + 1], new float[512]));
        Assert.Throws<ArgumentException>(() => codec.Decode(new byte[2 * blockBytes], new float[300]));
    }
}
