using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Tests.Codecs;

public class BlockCodecsTests
{
    public static TheoryData<GgmlType> RegisteredTypes()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var codec in BlockCodecs.All)
        {
            data.Add(codec.Type);
        }
        return data;
    }

    [Fact]
    public void Lookup_agrees_with_the_registered_list()
    {
        Assert.Equal(BlockCodecs.All.Count, BlockCodecs.All.Select(c => c.Type).Distinct().Count());
        foreach (var info in GgmlTypeInfo.Types)
        {
            var found = BlockCodecs.TryGet(info.Type, out var codec);
            Assert.Equal(BlockCodecs.All.Any(c => c.Type == info.Type), found);
            if (found)
            {
                Assert.Equal(info.Type, codec!.Type);
                Assert.Same(codec, BlockCodecs.Get(info.Type));
            }
        }
    }

    [Fact]
    public void Get_names_what_is_missing()
    {
        var none = Assert.Throws<NotSupportedException>(() => BlockCodecs.Get(GgmlType.I64));
        Assert.Contains("i64", none.Message, StringComparison.Ordinal);
        var removed = Assert.Throws<NotSupportedException>(() => BlockCodecs.Get((GgmlType)4));
        Assert.Contains("q4_2", removed.Message, StringComparison.Ordinal);
        Assert.False(BlockCodecs.TryGet((GgmlType)(-1), out _));
        Assert.False(BlockCodecs.TryGet((GgmlType)1000, out _));
    }

    /// <summary>Registered codecs that encode; the encode checks below run only on these.</summary>
    public static TheoryData<GgmlType> EncodableTypes()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var codec in BlockCodecs.All.Where(c => c.CanEncode))
        {
            data.Add(codec.Type);
        }
        return data;
    }

    public static TheoryData<GgmlType> DecodeOnlyTypes()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var codec in BlockCodecs.All.Where(c => !c.CanEncode))
        {
            data.Add(codec.Type);
        }
        return data;
    }

    static (IBlockCodec Codec, GgmlTypeInfo Info) Lookup(GgmlType type) => (BlockCodecs.Get(type), GgmlTypeInfo.Of(type));

    [Theory]
    [InlineData(GgmlType.IQ1_S)]
    [InlineData(GgmlType.IQ2_XXS)]
    [InlineData(GgmlType.IQ2_XS)]
    public void Formats_that_need_importance_refuse_without_it_before_writing(GgmlType type)
    {
        var (codec, info) = Lookup(type);
        Assert.True(NeedsImportance(type));
        var rowLength = RowLength(info, 2);
        var destination = new byte[(int)info.RowBytes(rowLength) * 2];
        var error = Assert.Throws<ArgumentException>(() => codec.Encode(RandomRows(rowLength * 2, 8), rowLength, default, destination));
        Assert.Contains(info.Name, error.Message, StringComparison.Ordinal);
        Assert.Contains("importance", error.Message, StringComparison.Ordinal);
        Assert.All(destination, b => Assert.Equal(0, b));
    }

    /// <summary>A few blocks, and never fewer than 32 values, so plain float formats get real rows too.</summary>
    static int RowLength(GgmlTypeInfo info, int blocks) => Math.Max(32, info.BlockElements * blocks);

    /// <summary>Formats ggml quantizes only with importance weights (it asserts without them).</summary>
    static bool NeedsImportance(GgmlType type) => type is GgmlType.IQ1_S or GgmlType.IQ2_XXS or GgmlType.IQ2_XS;

    /// <summary>No weights and the given ones, or only the given ones where ggml requires them.</summary>
    static float[][] ImportanceChoices(GgmlType type, float[] weights) =>
        NeedsImportance(type) ? [weights] : [[], weights];

    static float[] RandomRows(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return values;
    }

    [Theory]
    [MemberData(nameof(EncodableTypes))]
    public void Bad_shapes_are_rejected_before_anything_is_written(GgmlType type)
    {
        var (codec, info) = Lookup(type);
        var rowLength = RowLength(info, 2);
        var rows = RandomRows(rowLength * 3, 1);
        var destination = new byte[(int)info.RowBytes(rowLength) * 3];
        destination.AsSpan().Fill(0xAB);

        Assert.Throws<ArgumentException>(() => codec.Encode(rows.AsSpan(1), rowLength, default, destination));
        Assert.Throws<ArgumentException>(() => codec.Encode(rows, rowLength, default, destination.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => codec.Encode(rows, rowLength, new float[rowLength - 1], destination));
        var badWeights = new float[rowLength];
        badWeights[3] = float.NaN;
        Assert.Throws<ArgumentException>(() => codec.Encode(rows, rowLength, badWeights, destination));
        Assert.Throws<ArgumentOutOfRangeException>(() => codec.Encode(rows, 0, default, destination));
        Assert.Throws<ArgumentOutOfRangeException>(() => codec.Encode(rows, -rowLength, default, destination));
        if (info.BlockElements > 1)
        {
            var ragged = rowLength + info.BlockElements / 2;
            var error = Assert.Throws<ArgumentException>(() => codec.Encode(new float[ragged * 2], ragged, default, new byte[4096]));
            Assert.Contains("block", error.Message, StringComparison.Ordinal);
        }
        Assert.All(destination, b => Assert.Equal(0xAB, b));
    }

    [Theory]
    [MemberData(nameof(RegisteredTypes))]
    public void Bad_decode_shapes_are_rejected_before_anything_is_written(GgmlType type)
    {
        var (codec, info) = Lookup(type);
        var floats = new float[RowLength(info, 2)];
        floats.AsSpan().Fill(7);
        Assert.Throws<ArgumentException>(() => codec.Decode(new byte[info.BlockBytes * 2 + 1], floats));
        Assert.Throws<ArgumentException>(() => codec.Decode(new byte[info.BlockBytes * 2], new float[info.BlockElements * 2 + 1]));
        Assert.All(floats, f => Assert.Equal(7, f));
    }

    [Theory]
    [MemberData(nameof(DecodeOnlyTypes))]
    public void Decode_only_codecs_refuse_to_encode(GgmlType type)
    {
        var (codec, info) = Lookup(type);
        Assert.False(codec.CanEncode);
        var rowLength = RowLength(info, 2);
        var destination = new byte[(int)info.RowBytes(rowLength)];
        foreach (var importance in new[] { Array.Empty<float>(), Enumerable.Repeat(1f, rowLength).ToArray() })
        {
            var error = Assert.Throws<NotSupportedException>(() => codec.Encode(RandomRows(rowLength, 9), rowLength, importance, destination));
            Assert.Contains(info.Name, error.Message, StringComparison.Ordinal);
        }
        Assert.Throws<NotSupportedException>(() => codec.Encode([], info.BlockElements, default, []));
        Assert.All(destination, b => Assert.Equal(0, b));
    }

    [Theory]
    [MemberData(nameof(EncodableTypes))]
    public void Non_finite_values_name_their_row(GgmlType type)
    {
        var (codec, info) = Lookup(type);
        var rowLength = RowLength(info, 4);
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, BitConverter.UInt32BitsToSingle(0xFF800001) })
        {
            foreach (var importance in ImportanceChoices(type, Enumerable.Repeat(1f, rowLength).ToArray()))
            {
                var rows = RandomRows(rowLength * 3, 2);
                var column = rowLength - 5;
                rows[2 * rowLength + column] = bad;
                var error = Assert.Throws<NonFiniteValueException>(
                    () => codec.Encode(rows, rowLength, importance, new byte[(int)info.RowBytes(rowLength) * 3]));
                Assert.Equal(2, error.Row);
                Assert.Equal(column, error.Column);
                Assert.Contains("row 2", error.Message, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [MemberData(nameof(RegisteredTypes))]
    public void Empty_input_is_nothing_to_do(GgmlType type)
    {
        var (codec, info) = Lookup(type);
        if (codec.CanEncode)
        {
            codec.Encode([], info.BlockElements, default, []);
        }
        codec.Decode([], []);
    }

    [Theory]
    [MemberData(nameof(EncodableTypes))]
    public void Round_trip_stays_close(GgmlType type)
    {
        var (codec, info) = Lookup(type);
        var rowLength = RowLength(info, 8);
        var rows = RandomRows(rowLength * 5, 3);
        var bytes = new byte[(int)info.RowBytes(rowLength) * 5];
        var importance = RandomRows(rowLength, 4).Select(MathF.Abs).ToArray();
        foreach (var weights in ImportanceChoices(type, importance))
        {
            codec.Encode(rows, rowLength, weights, bytes);
            var back = new float[rows.Length];
            codec.Decode(bytes, back);
            // About half a quantization step over [-1, 1], plus slack for fp16 scales and for importance weights,
            // which let the 2- and 3-bit searches give up accuracy on lightly weighted columns.
            var tolerance = info.Type switch
            {
                GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => 0.004f,
                GgmlType.Q2_K => 0.75f,
                GgmlType.Q3_K => 0.4f,
                // Ternary and sign formats keep only −d, 0, +d (or ±mean|x|): a value just below d/2 loses all of it.
                GgmlType.TQ1_0 or GgmlType.TQ2_0 or GgmlType.Q2_0 or GgmlType.Q1_0 => 0.6f,
                // The E8M0 power-of-two scale can leave the top E2M1 level (6) at 3/4 of amax.
                GgmlType.MXFP4 => 0.3f,
                // E2M1 steps are 2 apart near the top (4 → 6), a third of amax, plus the UE4M3 rounding of the scale.
                GgmlType.NVFP4 => 0.2f,
                // Grid points, not free levels: a group of four may land on a neighbouring point.
                GgmlType.IQ3_S => 0.6f,
                // IQ3_XXS also stores an even number of minus signs per 8 values, so one value may change sign
                // (the one with the smallest weighted square, which importance weights can make a large one).
                GgmlType.IQ3_XXS => 1.2f,
                // Three levels, shifted ±1/8, and groups of eight only on the 2048 grid points: a value can land on
                // a neighbouring point's opposite level, so single values say little; the RMS check below bounds them.
                GgmlType.IQ1_S or GgmlType.IQ1_M => 2.0f,
                // Three magnitudes per value and eight values per grid point (measured worst: 0.57, 0.62 weighted).
                GgmlType.IQ2_S => 0.7f,
                // IQ2_XS and IQ2_XXS also keep the count of minus signs even, as IQ3_XXS does (measured worst 1.13
                // and 1.48: a flipped value with a small weight).
                GgmlType.IQ2_XS => 1.25f,
                GgmlType.IQ2_XXS => 1.6f,
                _ => 0.16f,
            };
            for (var i = 0; i < rows.Length; i++)
            {
                Assert.True(MathF.Abs(rows[i] - back[i]) <= tolerance, $"{info.Name}: value {i} {rows[i]} came back as {back[i]}");
            }
            if (info.Type is GgmlType.IQ1_S or GgmlType.IQ1_M)
            {
                // Uniform values on [-1, 1] have an RMS of 0.58; the 1-bit formats keep well over half of it.
                var rms = Math.Sqrt(rows.Zip(back, (a, b) => (double)(a - b) * (a - b)).Average());
                Assert.True(rms < 0.4, $"{info.Name}: RMS error {rms}");
            }
        }
    }

    [Fact]
    public void IQ1_S_without_importance_is_refused_before_anything_is_written()
    {
        var codec = BlockCodecs.Get(GgmlType.IQ1_S);
        var destination = new byte[2 * 50];
        destination.AsSpan().Fill(0xAB);
        var error = Assert.Throws<ArgumentException>(() => codec.Encode(RandomRows(512, 7), 256, default, destination));
        Assert.Contains("iq1_s needs importance weights", error.Message, StringComparison.Ordinal);
        Assert.All(destination, b => Assert.Equal(0xAB, b));
    }

    [Fact]
    public void Q8_0_ignores_importance_as_ggml_does()
    {
        var codec = BlockCodecs.Get(GgmlType.Q8_0);
        var rows = RandomRows(256, 5);
        var plain = new byte[272];
        var weighted = new byte[272];
        codec.Encode(rows, 128, default, plain);
        codec.Encode(rows, 128, RandomRows(128, 6), weighted);
        Assert.Equal(plain, weighted);
    }
}
