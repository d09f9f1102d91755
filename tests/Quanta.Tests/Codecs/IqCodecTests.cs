using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Quanta.Codecs;
using Quanta.Codecs.Search;
using Quanta.Formats;
using Quanta.Tests.Formats;

namespace Quanta.Tests.Codecs;

/// <summary>The IQ grid tables, the IQ3 neighbour maps, the decode vector paths, and Q8_1 / Q8_K decoding.</summary>
public class IqCodecTests
{
    static string Sha256<T>(T[] table) where T : struct =>
        Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(table.AsSpan())));

    /// <summary>SHA-256 of ggml's tables as little-endian arrays (computed from ggml-common.h, August 2026 source).</summary>
    [Fact]
    public void Grids_expand_to_ggml_tables()
    {
        Assert.Equal("05826b5d3e472a3a78f196be62ac78acf81df0f909626e12ab9fa2a5d490dd54", Sha256(Iq2Grids.Iq2Xxs));
        Assert.Equal("06e47aaca60b4dc1d9b5a3f34540437058a6b142b4d7a59d5ded769b4d1bf1de", Sha256(Iq2Grids.Iq2Xs));
        Assert.Equal("e1aa1473412b0552c2174c30ef22ab4073f6a181b85a17056e8249bd2932fd88", Sha256(Iq2Grids.Iq2S));
        Assert.Equal("46e35f5a997efdee6c99ce57854c8a0d4f0ff8ca57e5e8a60c0793ea580acf5d", Sha256(Iq3Grids.Iq3Xxs));
        Assert.Equal("bd1af4945a1717c65610b0284e4628b9a1ba3b306fae3a06f6e5f597356e349f", Sha256(Iq3Grids.Iq3S));
        Assert.Equal("07540ffc1aeaf6ad4d97e96b0fcc765aae39671d4ae4a27bbd0e796fde167c6a", Sha256(Iq1Grids.Iq1S));
        Assert.Equal("a76742a603f8beca5212ecce0f1f02f11a4887fd2f7c8b15aca0ea3eb3380c31", Sha256(Iq2Grids.Signs));
    }

    /// <summary>
    /// Neighbour totals of ggml's <c>iq3xs_init_impl</c> (its <c>num_neighbors</c>, <c>num_not_in_map</c>):
    /// 18,985 over 3,840 off-grid codes for 256 points, 24,733 over 3,584 for 512.
    /// </summary>
    [Theory]
    [InlineData(256, 3840, 18985)]
    [InlineData(512, 3584, 24733)]
    public void Neighbour_maps_have_ggml_sizes(int points, int offGrid, int neighbours)
    {
        var lattice = points == 256 ? Iq3Lattice.Xxs : Iq3Lattice.S;
        Assert.Equal(points * 4, lattice.Levels.Length);
        Assert.Equal(offGrid, lattice.Map.Count(e => e < 0));
        Assert.Equal(neighbours + offGrid, lattice.Neighbours.Length);
        Assert.Equal(Enumerable.Range(0, points), lattice.Map.Where(e => e >= 0).Order());
    }

    [Fact]
    public void Neighbour_lists_hold_the_nearest_distances_in_index_order()
    {
        var lattice = Iq3Lattice.S;
        for (var code = 0; code < Iq3Lattice.CodeCount; code += 37)
        {
            if (lattice.Map[code] >= 0)
            {
                continue;
            }
            var list = lattice.NeighboursOf(lattice.Map[code]);
            var distances = Enumerable.Range(0, 512).Select(p => Distance(lattice, code, p)).ToArray();
            var nearest3 = distances.Distinct().Order().Take(3).ToHashSet();
            var expected = Enumerable.Range(0, 512).Where(p => nearest3.Contains(distances[p]))
                .OrderBy(p => distances[p]).ThenBy(p => p).ToArray();
            Assert.Equal(expected, list.Slice(1, list[0]).ToArray().Select(p => (int)p));
        }
    }

    static int Distance(Iq3Lattice lattice, int code, int point)
    {
        var d2 = 0;
        for (var i = 0; i < 4; ++i)
        {
            var diff = lattice.Levels[4 * point + i] - (2 * ((code >> (3 * i)) & 7) + 1);
            d2 += diff * diff;
        }
        return d2;
    }

    public static TheoryData<GgmlType> IqTypes() =>
        [GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S, GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.IQ1_S, GgmlType.IQ1_M];

    static void Scalar(GgmlType type, ReadOnlySpan<byte> block, Span<float> y)
    {
        switch (type)
        {
            case GgmlType.IQ2_XXS: IqDecode.Iq2XxsScalar(block, y); break;
            case GgmlType.IQ2_XS: IqDecode.Iq2XsScalar(block, y); break;
            case GgmlType.IQ2_S: IqDecode.Iq2SScalar(block, y); break;
            case GgmlType.IQ3_XXS: IqDecode.Iq3XxsScalar(block, y); break;
            case GgmlType.IQ3_S: IqDecode.Iq3SScalar(block, y); break;
            case GgmlType.IQ1_S: IqDecode.Iq1SScalar(block, y); break;
            default: IqDecode.Iq1MScalar(block, y); break;
        }
    }

    static void Vector(GgmlType type, ReadOnlySpan<byte> block, Span<float> y)
    {
        switch (type)
        {
            case GgmlType.IQ2_XXS: IqDecode.Iq2XxsVector(block, y); break;
            case GgmlType.IQ2_XS: IqDecode.Iq2XsVector(block, y); break;
            case GgmlType.IQ2_S: IqDecode.Iq2SVector(block, y); break;
            case GgmlType.IQ3_XXS: IqDecode.Iq3XxsVector(block, y); break;
            case GgmlType.IQ3_S: IqDecode.Iq3SVector(block, y); break;
            case GgmlType.IQ1_S: IqDecode.Iq1SVector(block, y); break;
            default: IqDecode.Iq1MVector(block, y); break;
        }
    }

    /// <summary>Random blocks, scales included (so zero, subnormal, huge, infinite and NaN scales occur too).</summary>
    [Theory]
    [MemberData(nameof(IqTypes))]
    public void Decode_vector_path_matches_scalar_bit_for_bit(GgmlType type)
    {
        var info = GgmlTypeInfo.Of(type);
        var rng = new Random((int)type);
        var block = new byte[info.BlockBytes];
        var expected = new float[256];
        var actual = new float[256];
        for (var n = 0; n < 3000; ++n)
        {
            rng.NextBytes(block);
            if (n % 2 == 0 && type != GgmlType.IQ1_M)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(block, (ushort)rng.Next(0x7C00)); // a finite scale
            }
            Scalar(type, block, expected);
            Vector(type, block, actual);
            Fp16Tests.AssertSameBits(expected, actual, $"{info.Name} block {n}");
        }
    }

    [Fact]
    public void Q8_K_decodes_d_times_q()
    {
        var block = new byte[292];
        BinaryPrimitives.WriteSingleLittleEndian(block, 0.1f);
        for (var j = 0; j < 256; ++j)
        {
            block[4 + j] = (byte)(sbyte)(j - 128);
        }
        block.AsSpan(260).Fill(0x5A); // bsums are not read
        var y = new float[512];
        var twice = block.Concat(block).ToArray();
        BinaryPrimitives.WriteSingleLittleEndian(twice.AsSpan(292), -3e38f);
        BlockCodecs.Get(GgmlType.Q8_K).Decode(twice, y);
        for (var j = 0; j < 256; ++j)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(0.1f * (j - 128)), BitConverter.SingleToInt32Bits(y[j]));
            Assert.Equal(BitConverter.SingleToInt32Bits(-3e38f * (j - 128)), BitConverter.SingleToInt32Bits(y[256 + j]));
        }
        Assert.Equal(0f, y[128]);
        Assert.Equal(-12.8f, y[0]);
        Assert.Equal(float.PositiveInfinity, y[256]);

        var expected = new float[256];
        Q8_KCodec.DecodeScalar(twice.AsSpan(292), expected);
        Q8_KCodec.DecodeVector(twice.AsSpan(292), y);
        Fp16Tests.AssertSameBits(expected, y.AsSpan(0, 256).ToArray(), "q8_K vector");
    }

    [Fact]
    public void Q8_1_decodes_like_Q8_0_ignoring_s()
    {
        var block = new byte[36 * 2];
        for (var b = 0; b < 2; ++b)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(36 * b), Fp16.FromFloat(b == 0 ? 0.5f : -0.0625f));
            BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(36 * b + 2), 0x7C00); // s = +inf: must not matter
            for (var j = 0; j < 32; ++j)
            {
                block[36 * b + 4 + j] = (byte)(sbyte)(j * 8 - 128 + b);
            }
        }
        var y = new float[64];
        BlockCodecs.Get(GgmlType.Q8_1).Decode(block, y);
        for (var j = 0; j < 32; ++j)
        {
            Assert.Equal((j * 8 - 128) * 0.5f, y[j]);
            Assert.Equal((j * 8 - 127) * -0.0625f, y[32 + j]);
        }
        Assert.Equal(-64f, y[0]);

        // Q8_1 is Q8_0 plus two bytes: the same quants and scale give the same floats.
        var q80 = new byte[34];
        block.AsSpan(0, 2).CopyTo(q80);
        block.AsSpan(4, 32).CopyTo(q80.AsSpan(2));
        var y0 = new float[32];
        BlockCodecs.Get(GgmlType.Q8_0).Decode(q80, y0);
        Fp16Tests.AssertSameBits(y0, y.AsSpan(0, 32).ToArray(), "q8_1 vs q8_0");
    }

    [Theory]
    [InlineData(GgmlType.IQ3_XXS)]
    [InlineData(GgmlType.IQ3_S)]
    [InlineData(GgmlType.IQ2_XXS)]
    [InlineData(GgmlType.IQ2_XS)]
    [InlineData(GgmlType.IQ2_S)]
    public void Negative_importance_is_refused(GgmlType type)
    {
        var codec = BlockCodecs.Get(type);
        var importance = Enumerable.Repeat(1f, 256).ToArray();
        importance[17] = -0.5f;
        var error = Assert.Throws<ArgumentException>(() => codec.Encode(new float[256], 256, importance, new byte[GgmlTypeInfo.Of(type).BlockBytes]));
        Assert.Contains("importance", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GgmlType.IQ3_XXS, false)]
    [InlineData(GgmlType.IQ3_XXS, true)]
    [InlineData(GgmlType.IQ3_S, false)]
    [InlineData(GgmlType.IQ3_S, true)]
    [InlineData(GgmlType.IQ2_S, false)]
    [InlineData(GgmlType.IQ2_S, true)]
    public void Values_whose_squares_overflow_are_refused_on_both_paths(GgmlType type, bool vectorized)
    {
        IBlockCodec codec = type switch
        {
            GgmlType.IQ3_S => new IQ3_SCodec(vectorized),
            GgmlType.IQ2_S => new IQ2_SCodec(vectorized),
            _ => new IQ3_XXSCodec(vectorized),
        };
        var rng = new Random(3);
        var x = Enumerable.Range(0, 256).Select(_ => (float)(rng.NextDouble() - 0.5) * 1e30f).ToArray();
        var error = Assert.Throws<ArgumentException>(() => codec.Encode(x, 256, [], new byte[GgmlTypeInfo.Of(type).BlockBytes]));
        Assert.Contains("too large", error.Message, StringComparison.Ordinal);
    }
}
