using System.Runtime.Intrinsics;
using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Kernels;

/// <summary>
/// <see cref="GlibcExp"/> against libm's <c>expf</c> (<see cref="MathF.Exp"/>, glibc on Linux), which llama.cpp's
/// attention softmax calls cell by cell. Every float from −0 down to −103.97 was compared once (1,120,924,085 values,
/// all equal); here every 613th of them, the edges and the lanes libm keeps.
/// </summary>
public sealed class GlibcExpTests
{
    [Fact]
    public void Eight_lanes_give_libm_s_floats_for_every_softmax_argument()
    {
        const uint first = 0x80000000u, last = 0xC2CFF1B4u;
        var lanes = new float[8];
        var filled = 0;
        var checkedCount = 0;
        for (var u = (ulong)first; u <= last + 613UL * 8; u += 613)
        {
            lanes[filled++] = BitConverter.UInt32BitsToSingle((uint)Math.Min(u, 0xC3000000u));
            if (filled == 8)
            {
                AssertLibm(lanes);
                filled = 0;
                checkedCount += 8;
            }
        }
        Assert.True(checkedCount > 1_800_000, $"{checkedCount} values");
    }

    [Theory]
    [InlineData(0f, -0f, -1e-30f, -1e-7f, -0.5f, -1f, -87.33655f, -88f)]
    [InlineData(-100f, -103.97f, -103.972f, -104f, -200f, float.NegativeInfinity, -float.Epsilon, -1e-45f)]
    [InlineData(-3f, 1f, -2f, 88f, 89f, float.NaN, float.PositiveInfinity, -5f)]
    public void Edges_and_the_lanes_left_to_libm(float a, float b, float c, float d, float e, float f, float g, float h) =>
        AssertLibm([a, b, c, d, e, f, g, h]);

    static void AssertLibm(float[] lanes)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Another libm's expf rounds its own way; attention uses GlibcExp only where libm is glibc.
            return;
        }
        var vector = GlibcExp.Exp(Vector256.Create(lanes));
        for (var l = 0; l < 8; l++)
        {
            var expected = BitConverter.SingleToUInt32Bits(MathF.Exp(lanes[l]));
            Assert.True(expected == BitConverter.SingleToUInt32Bits(vector[l]), $"exp({lanes[l]:R}): 0x{BitConverter.SingleToUInt32Bits(vector[l]):x8}, libm 0x{expected:x8}");
            Assert.True(expected == BitConverter.SingleToUInt32Bits(GlibcExp.Exp(lanes[l])), $"scalar exp({lanes[l]:R})");
        }
    }
}
