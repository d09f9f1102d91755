using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Kernels;

/// <summary>
/// <see cref="VectorExp"/> against ggml-cpu's own <c>ggml_v_expf</c>: the AVX-512 and AVX2 functions copied from
/// llama.cpp's February 2025 <c>ggml-cpu.c</c> into a C harness (gcc -O2 -mavx512f -mavx512dq -mavx2 -mfma) that
/// ran them on 24 edge inputs (zeros, overflow and underflow thresholds, subnormal results) and 40 from a linear
/// congruential stream in [−12, 12), printing the bits of input, AVX-512 result, AVX2 result and glibc's
/// <c>expf</c> (the scalar tail), below.
/// </summary>
public sealed class VectorExpTests
{
    // input, ggml_v_expf AVX-512, ggml_v_expf AVX2 + FMA, glibc expf
    static readonly uint[][] Ggml =
    [
        [0x00000000, 0x3f800000, 0x3f800000, 0x3f800000],
        [0x80000000, 0x3f800000, 0x3f800000, 0x3f800000],
        [0x3f800000, 0x402df855, 0x402df855, 0x402df854],
        [0xbf800000, 0x3ebc5ab3, 0x3ebc5ab2, 0x3ebc5ab2],
        [0x3f000000, 0x3fd3094c, 0x3fd3094c, 0x3fd3094c],
        [0xbf000000, 0x3f1b4597, 0x3f1b4597, 0x3f1b4598],
        [0x322bcc77, 0x3f800000, 0x3f800000, 0x3f800000],
        [0xb22bcc77, 0x3f800000, 0x3f800000, 0x3f800000],
        [0x41200000, 0x46ac14f0, 0x46ac14f0, 0x46ac14ee],
        [0xc1200000, 0x383e6bce, 0x383e6bce, 0x383e6bce],
        [0x42a00000, 0x792abbce, 0x792abbcf, 0x792abbce],
        [0xc2a00000, 0x05bfecbb, 0x05bfecbc, 0x05bfecba],
        [0x42ae0000, 0x7e36d808, 0x7e36d808, 0x7e36d809],
        [0x42b10000, 0x7f4cdcc3, 0x7f4cdcc3, 0x7f4cdcc4],
        [0x42b20000, 0x7f800000, 0x7f800000, 0x7f800000],
        [0xc2ae0000, 0x00b33686, 0x00b33686, 0x00b33687],
        [0xc2b00000, 0x0041edc4, 0x0041edc4, 0x0041edc4],
        [0xc2c80000, 0x0000001b, 0x0000001b, 0x0000001b],
        [0xc2d00000, 0x00000000, 0x00000000, 0x00000000],
        [0xc3160000, 0x00000000, 0x00000000, 0x00000000],
        [0x42c80000, 0x7f800000, 0x7f800000, 0x7f800000],
        [0x43480000, 0x7f800000, 0x7f800000, 0x7f800000],
        [0xc3480000, 0x00000000, 0x00000000, 0x00000000],
        [0x3f317218, 0x40000000, 0x40000000, 0x40000000],
        [0x407d9f80, 0x42526e27, 0x42526e27, 0x42526e28],
        [0x41171278, 0x4644fc13, 0x4644fc13, 0x4644fc13],
        [0x40c738d0, 0x43fcc8de, 0x43fcc8df, 0x43fcc8df],
        [0x40ef800a, 0x44de80a2, 0x44de80a2, 0x44de80a2],
        [0x400756e0, 0x41049731, 0x41049731, 0x41049731],
        [0x40b7d9fa, 0x439c5e2b, 0x439c5e2b, 0x439c5e2c],
        [0x408d62fe, 0x42a5ea7b, 0x42a5ea7b, 0x42a5ea7a],
        [0x40a8ebc4, 0x43442165, 0x43442166, 0x43442165],
        [0x40f42b14, 0x4500b952, 0x4500b952, 0x4500b952],
        [0x413c3f24, 0x47fb6951, 0x47fb6950, 0x47fb6950],
        [0x4120cfa5, 0x46b507be, 0x46b507be, 0x46b507bf],
        [0x40de7d1e, 0x4482c17d, 0x4482c17d, 0x4482c17d],
        [0x40e5311f, 0x44a139c2, 0x44a139c2, 0x44a139c2],
        [0x41067e04, 0x458bc63e, 0x458bc63e, 0x458bc63e],
        [0x40d3962c, 0x443a01ef, 0x443a01ee, 0x443a01ee],
        [0x4106572c, 0x458a7483, 0x458a7483, 0x458a7483],
        [0x4080c863, 0x425fccf6, 0x425fccf6, 0x425fccf6],
        [0x413e4106, 0x480e823a, 0x480e8239, 0x480e823a],
        [0x40b8da51, 0x43a15694, 0x43a15694, 0x43a15694],
        [0x410e1158, 0x45e06a51, 0x45e06a51, 0x45e06a52],
        [0x40b0a482, 0x4379a7c8, 0x4379a7c8, 0x4379a7c8],
        [0x402b4a9b, 0x41688790, 0x41688790, 0x41688790],
        [0x40d6a8a4, 0x444cc019, 0x444cc019, 0x444cc01a],
        [0x40b1db97, 0x4381a8b7, 0x4381a8b7, 0x4381a8b7],
        [0x3f4812d8, 0x400bd43c, 0x400bd43c, 0x400bd43d],
        [0x41330325, 0x478d2abb, 0x478d2abb, 0x478d2abc],
        [0x40f9fbd0, 0x451a609b, 0x451a609b, 0x451a609c],
        [0x40165776, 0x41279dc1, 0x41279dc1, 0x41279dc0],
        [0x40951fe8, 0x42d34d81, 0x42d34d81, 0x42d34d82],
        [0x412de16c, 0x474cddc0, 0x474cddc0, 0x474cddc1],
        [0x40cfc46c, 0x44251499, 0x44251499, 0x44251498],
        [0x408d6184, 0x42a5e2d3, 0x42a5e2d3, 0x42a5e2d2],
        [0x41245da7, 0x46e2114e, 0x46e2114e, 0x46e2114e],
        [0x40960ef6, 0x42d98f4a, 0x42d98f4a, 0x42d98f4b],
        [0x40e576dc, 0x44a29a9e, 0x44a29a9e, 0x44a29a9e],
        [0x408e441a, 0x42aa89d4, 0x42aa89d4, 0x42aa89d3],
        [0x3f8b8b1a, 0x403e6368, 0x403e6368, 0x403e6367],
        [0x3fdda9e8, 0x40b4d10f, 0x40b4d10f, 0x40b4d110],
        [0x4098702e, 0x42ea5b1d, 0x42ea5b1d, 0x42ea5b1e],
        [0x408e1df6, 0x42a9bf0a, 0x42a9bf09, 0x42a9bf09],
    ];

    [Fact]
    public void Exp_is_ggml_v_expf_bit_for_bit_in_both_forms()
    {
        foreach (var row in Ggml)
        {
            var x = BitConverter.UInt32BitsToSingle(row[0]);
            var avx512 = BitConverter.SingleToUInt32Bits(VectorExp.Exp(x, avx512: true));
            var avx2 = BitConverter.SingleToUInt32Bits(VectorExp.Exp(x, avx512: false));
            Assert.True(row[1] == avx512, $"AVX-512 exp({x:R}): 0x{avx512:x8}, ggml 0x{row[1]:x8}");
            Assert.True(row[2] == avx2, $"AVX2 exp({x:R}): 0x{avx2:x8}, ggml 0x{row[2]:x8}");
        }
    }

    [Fact]
    public void The_two_forms_and_libm_do_differ_on_these_inputs()
    {
        // Otherwise the test above could not tell the forms apart (or from MathF.Exp).
        Assert.Contains(Ggml, row => row[1] != row[2]);
        Assert.Contains(Ggml, row => row[1] != row[3]);
        Assert.Contains(Ggml, row => row[2] != row[3]);
    }

    [Theory]
    [InlineData(KernelWidth.Vector512, 16)]
    [InlineData(KernelWidth.Vector256, 8)]
    [InlineData(KernelWidth.Scalar, 8)]
    public void SiluTimes_takes_whole_registers_of_each_row_and_libm_for_the_tail(KernelWidth width, int lanes)
    {
        // Two rows of 21: in each, the first whole registers by ggml_v_expf, the rest by expf.
        const int rowLength = 21;
        var inputs = Ggml.Select(r => BitConverter.UInt32BitsToSingle(r[0])).Where(x => MathF.Abs(x) < 12f).Take(2 * rowLength).ToArray();
        Assert.Equal(2 * rowLength, inputs.Length);
        var gate = inputs.ToArray();
        var up = Enumerable.Range(0, gate.Length).Select(i => 0.5f + (i * 0.01f)).ToArray();
        VectorExp.SiluTimes(gate, up, rowLength, width);
        var vectorised = rowLength / lanes * lanes;
        for (var i = 0; i < gate.Length; i++)
        {
            var x = inputs[i];
            var exp = i % rowLength < vectorised ? VectorExp.Exp(0f - x, width == KernelWidth.Vector512) : MathF.Exp(-x);
            Assert.Equal(x / (1f + exp) * up[i], gate[i]);
        }
    }

    [Fact]
    public void Softmax_sums_each_register_in_float_before_the_double_sum()
    {
        // 20 values at 512 bits: one register of 16 (ggml_v_expf, halving-tree sum), 4 by expf.
        var x = Ggml.Select(r => BitConverter.UInt32BitsToSingle(r[0])).Where(v => MathF.Abs(v) < 12f).Take(20).ToArray();
        var expected = new float[x.Length];
        var max = x.Max();
        var register = new float[16];
        for (var i = 0; i < 16; i++)
        {
            expected[i] = register[i] = VectorExp.Exp(x[i] - max, avx512: true);
        }
        double sum = TinyBlasOrder.Sum(register);
        for (var i = 16; i < x.Length; i++)
        {
            expected[i] = MathF.Exp(x[i] - max);
            sum += expected[i];
        }
        var reciprocal = (float)(1.0 / sum);
        for (var i = 0; i < x.Length; i++)
        {
            expected[i] *= reciprocal;
        }
        VectorExp.Softmax(x, KernelWidth.Vector512);
        Assert.Equal(expected, x);
    }
}
