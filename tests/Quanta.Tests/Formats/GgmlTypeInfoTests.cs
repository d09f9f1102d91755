using Quanta.Formats;

namespace Quanta.Tests.Formats;

public class GgmlTypeInfoTests
{
    // ggml.c type_traits[] (August 2026): id, name, block elements, block bytes.
    public static TheoryData<int, string, int, int> Table => new()
    {
        { 0, "f32", 1, 4 }, { 1, "f16", 1, 2 }, { 2, "q4_0", 32, 18 }, { 3, "q4_1", 32, 20 },
        { 6, "q5_0", 32, 22 }, { 7, "q5_1", 32, 24 }, { 8, "q8_0", 32, 34 }, { 9, "q8_1", 32, 36 },
        { 10, "q2_K", 256, 84 }, { 11, "q3_K", 256, 110 }, { 12, "q4_K", 256, 144 }, { 13, "q5_K", 256, 176 },
        { 14, "q6_K", 256, 210 }, { 15, "q8_K", 256, 292 }, { 16, "iq2_xxs", 256, 66 }, { 17, "iq2_xs", 256, 74 },
        { 18, "iq3_xxs", 256, 98 }, { 19, "iq1_s", 256, 50 }, { 20, "iq4_nl", 32, 18 }, { 21, "iq3_s", 256, 110 },
        { 22, "iq2_s", 256, 82 }, { 23, "iq4_xs", 256, 136 }, { 24, "i8", 1, 1 }, { 25, "i16", 1, 2 },
        { 26, "i32", 1, 4 }, { 27, "i64", 1, 8 }, { 28, "f64", 1, 8 }, { 29, "iq1_m", 256, 56 },
        { 30, "bf16", 1, 2 }, { 34, "tq1_0", 256, 54 }, { 35, "tq2_0", 256, 66 }, { 39, "mxfp4", 32, 17 },
        { 40, "nvfp4", 64, 36 }, { 41, "q1_0", 128, 18 }, { 42, "q2_0", 64, 18 },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Every_type_matches_ggml(int id, string name, int blockElements, int blockBytes)
    {
        Assert.True(GgmlTypeInfo.TryGet(id, out var info));
        Assert.Equal(id, (int)info.Type);
        Assert.Equal(name, info.Name);
        Assert.Equal(blockElements, info.BlockElements);
        Assert.Equal(blockBytes, info.BlockBytes);
        Assert.True(GgmlTypeInfo.TryParse(name.ToUpperInvariant(), out var byName));
        Assert.Same(info, byName);
    }

    [Fact]
    public void The_table_has_every_live_id_and_nothing_else()
    {
        Assert.Equal(35, GgmlTypeInfo.Types.Count);
        Assert.Equal(Table.Select(row => (int)row[0]), GgmlTypeInfo.Types.Select(t => (int)t.Type));
    }

    [Theory]
    [InlineData(4, "q4_2")]
    [InlineData(5, "q4_3")]
    [InlineData(31, "q4_0_4_4")]
    [InlineData(32, "q4_0_4_8")]
    [InlineData(33, "q4_0_8_8")]
    [InlineData(36, "iq4_nl_4_4")]
    [InlineData(37, "iq4_nl_4_8")]
    [InlineData(38, "iq4_nl_8_8")]
    public void Removed_ids_are_rejected_by_name(int id, string name)
    {
        Assert.False(GgmlTypeInfo.TryGet(id, out _));
        Assert.Contains($"({name}) was removed", GgmlTypeInfo.DescribeUnknownId(id));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(43)]
    [InlineData(int.MaxValue)]
    public void Unknown_ids_are_rejected(int id)
    {
        Assert.False(GgmlTypeInfo.TryGet(id, out _));
        Assert.Equal($"unknown ggml type {id}", GgmlTypeInfo.DescribeUnknownId(id));
    }

    [Fact]
    public void Row_bytes_and_bits_per_weight()
    {
        var q4k = GgmlTypeInfo.Of(GgmlType.Q4_K);
        Assert.Equal(4.5, q4k.BitsPerWeight);
        Assert.Equal(16 * 144, q4k.RowBytes(4096));
        Assert.Throws<ArgumentException>(() => q4k.RowBytes(4000));
        Assert.Equal(6.5625, GgmlTypeInfo.Of(GgmlType.Q6_K).BitsPerWeight);
    }
}
