using System.Buffers.Binary;
using System.Numerics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// IQ3_XXS: 3.0625 bits per weight. Each group of 4 values is one of 256 grid points (8 bits), each 8 values
/// carry 7 sign bits (the eighth makes the count of minus signs even), each 32 values a 4-bit scale under one
/// fp16 super-scale. Layout (<c>block_iq3_xxs</c>, 98 bytes): d fp16, qs[64] grid indices, then 8 little-endian
/// u32 of four 7-bit sign fields and the 4-bit scale in bits 28..31. Follows ggml's
/// <c>quantize_row_iq3_xxs_impl</c> (with or without importance weights) and <c>dequantize_row_iq3_xxs</c>.
/// </summary>
public sealed class IQ3_XXSCodec : IQ3Codec
{
    private const int QsOffset = 2;
    private const int SignsOffset = 2 + 64;

    /// <summary>ggml's <c>GROUP_MAX_EPS_IQ3_XXS</c>: a 32-value group whose largest magnitude is below this is zero.</summary>
    private const float GroupMaxEps = 1e-8f;

    public IQ3_XXSCodec()
        : this(VectorizeByDefault)
    {
    }

    internal IQ3_XXSCodec(bool vectorized)
        : base(GgmlType.IQ3_XXS, vectorized)
    {
    }

    private protected override void EncodeSuperBlock(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        var lattice = Iq3Lattice.Xxs;
        Span<float> scales = stackalloc float[8];
        Span<float> weight = stackalloc float[32];
        Span<float> waux = stackalloc float[32];
        Span<float> xval = stackalloc float[32];
        Span<sbyte> levels = stackalloc sbyte[32];
        Span<byte> signs = stackalloc byte[4];
        Span<uint> scalesAndSigns = stackalloc uint[8];
        block.Clear();
        var qs = block.Slice(QsOffset, 64);

        var sigma2 = Iq3Encoding.Sigma2(x);
        float maxScale = 0;
        for (var ib = 0; ib < 8; ++ib)
        {
            var xb = x.Slice(32 * ib, 32);
            Iq3Encoding.Weights(xb, importance.IsEmpty ? default : importance.Slice(32 * ib, 32), sigma2, weight, waux);
            for (var k = 0; k < 4; ++k)
            {
                var s = Iq3Encoding.SplitSigns(xb.Slice(8 * k, 8), xval.Slice(8 * k, 8));
                if (BitOperations.PopCount((uint)s) % 2 != 0)
                {
                    // An odd count cannot be stored: flip the value that costs least, (w·x)·x smallest, first wins.
                    var imin = 0;
                    var min = weight[8 * k] * xb[8 * k] * xb[8 * k];
                    for (var i = 1; i < 8; ++i)
                    {
                        var ax = weight[8 * k + i] * xb[8 * k + i] * xb[8 * k + i];
                        if (ax < min)
                        {
                            min = ax;
                            imin = i;
                        }
                    }
                    xval[8 * k + imin] = -xval[8 * k + imin];
                    s ^= 1 << imin;
                }
                signs[k] = (byte)(s & 127);
            }
            var max = Iq3Encoding.Max(xval);
            levels.Clear();
            if (max < GroupMaxEps)
            {
                scales[ib] = 0;
                continue;
            }
            var scale = Iq3Encoding.FindScale(lattice, Iq3Search.Xxs, Vectorized, xval, weight, waux, max, levels);
            if (scale < 0)
            {
                scale = -scale;
                for (var k = 0; k < 4; ++k)
                {
                    signs[k] = (byte)(~signs[k] & 127);
                }
            }
            for (var k = 0; k < 8; ++k)
            {
                qs[8 * ib + k] = (byte)Iq3Search.PointOf(lattice, levels.Slice(4 * k, 4));
            }
            scalesAndSigns[ib] = signs[0] | ((uint)signs[1] << 7) | ((uint)signs[2] << 14) | ((uint)signs[3] << 21);
            scales[ib] = scale;
            maxScale = maxScale > scale ? maxScale : scale;
        }

        if (maxScale == 0)
        {
            block.Clear();
            return;
        }

        var d = maxScale / 31;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d * 1.0125f));
        var id = 1 / d;
        for (var ib = 0; ib < 8; ++ib)
        {
            var l = Math.Clamp(GgmlMath.NearestInt(0.5f * (id * scales[ib] - 1)), 0, 15);
            BinaryPrimitives.WriteUInt32LittleEndian(block[(SignsOffset + 4 * ib)..], scalesAndSigns[ib] | ((uint)l << 28));
        }
    }

    protected override void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y) => IqDecode.Iq3Xxs(block, y);
}
