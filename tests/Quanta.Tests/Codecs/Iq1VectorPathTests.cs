using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Tests.Codecs;

/// <summary>
/// IQ1_S's and IQ1_M's lane-parallel split searches against ggml's bytes and against the scalar searches, forced on each path
/// whatever the machine (the suite also runs under DOTNET_PreferredVectorBitWidth=256 and EnableHWIntrinsic=0).
/// </summary>
public class Iq1VectorPathTests
{
    public static TheoryData<string> Iq1SCases() =>
        GoldenQuantCases.Ids(GoldenQuantCases.All.Where(c => c.GgmlType == GgmlType.IQ1_S));

    [Theory]
    [MemberData(nameof(Iq1SCases))]
    public void Both_paths_write_ggml_s_bytes(string id)
    {
        var golden = GoldenQuantCases.ById(id);
        var expected = golden.ReadQuantized();
        foreach (var vectorized in new[] { false, true })
        {
            var actual = new byte[expected.Length];
            new IQ1_SCodec(vectorized).Encode(golden.ReadInput(), golden.Cols, golden.ReadImportance(), actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{id}, vectorized {vectorized}: first difference at byte {expected.AsSpan().CommonPrefixLength(actual)}");
        }
    }

    public static TheoryData<string> Iq1MCases() =>
        GoldenQuantCases.Ids(GoldenQuantCases.All.Where(c => c.GgmlType == GgmlType.IQ1_M));

    [Theory]
    [MemberData(nameof(Iq1MCases))]
    public void Both_IQ1_M_paths_write_ggml_s_bytes(string id)
    {
        var golden = GoldenQuantCases.ById(id);
        var expected = golden.ReadQuantized();
        foreach (var vectorized in new[] { false, true })
        {
            var actual = new byte[expected.Length];
            new IQ1_MCodec(vectorized).Encode(golden.ReadInput(), golden.Cols, golden.ReadImportance(), actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{id}, vectorized {vectorized}: first difference at byte {expected.AsSpan().CommonPrefixLength(actual)}");
        }
    }

    /// <summary>
    /// IQ1_M's split search (four shift choices per split in one vector), rank sort and neighbour lanes give the
    /// scalar bytes on rows with many equal scores, and on every input family, with and without importance weights.
    /// </summary>
    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    public void Both_IQ1_M_paths_agree_on_rows_with_ties(int seed, bool weighted)
    {
        var rng = new Random(seed);
        const int rows = 32, cols = 512;
        var x = Enumerable.Range(0, rows * cols).Select(_ => (float)rng.Next(-3, 4) * 0.25f * (rng.Next(4) == 0 ? 1e-3f : 1)).ToArray();
        var importance = weighted ? Enumerable.Range(0, cols).Select(_ => (float)rng.Next(1, 3)).ToArray() : [];
        var bytes = GgmlTypeInfo.Of(GgmlType.IQ1_M).RowBytes(cols) * rows;
        var scalar = new byte[bytes];
        var vector = new byte[bytes];
        new IQ1_MCodec(false).Encode(x, cols, importance, scalar);
        new IQ1_MCodec(true).Encode(x, cols, importance, vector);
        Assert.Equal(scalar, vector);
        Assert.Contains(scalar, b => b != 0);
    }

    [Fact]
    public void Both_IQ1_M_paths_agree_on_every_input_family()
    {
        const int cols = 1024;
        for (var family = 0; family < KQuantVectorPathTests.Families; ++family)
        {
            var rng = new Random(400 + family);
            var x = new float[2 * cols];
            KQuantVectorPathTests.Fill(x, family, rng);
            var importance = family % 2 == 0 ? Enumerable.Range(0, cols).Select(_ => (float)rng.NextDouble() * 10 + 1e-3f).ToArray() : [];
            var bytes = GgmlTypeInfo.Of(GgmlType.IQ1_M).RowBytes(cols) * 2;
            var scalar = new byte[bytes];
            var vector = new byte[bytes];
            new IQ1_MCodec(false).Encode(x, cols, importance, scalar);
            new IQ1_MCodec(true).Encode(x, cols, importance, vector);
            var at = scalar.AsSpan().CommonPrefixLength(vector);
            Assert.True(at == bytes, $"family {family}: first difference at byte {at}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Both_paths_agree_on_rows_with_ties(int seed)
    {
        // Few distinct values and weights make many splits score alike, where the order of the checks decides.
        var rng = new Random(seed);
        const int rows = 64, cols = 512;
        var x = Enumerable.Range(0, rows * cols).Select(_ => (float)rng.Next(-3, 4) * 0.25f * (rng.Next(4) == 0 ? 1e-3f : 1)).ToArray();
        var importance = Enumerable.Range(0, cols).Select(_ => (float)rng.Next(1, 3)).ToArray();
        var bytes = GgmlTypeInfo.Of(GgmlType.IQ1_S).RowBytes(cols) * rows;
        var scalar = new byte[bytes];
        var vector = new byte[bytes];
        new IQ1_SCodec(false).Encode(x, cols, importance, scalar);
        new IQ1_SCodec(true).Encode(x, cols, importance, vector);
        Assert.Equal(scalar, vector);
        Assert.Contains(scalar, b => b != 0);
    }

    /// <summary>
    /// Every input family of the K-quant vector tests (zero groups, ties, extremes, subnormals): the lane-parallel
    /// split search, branch-free rank sort and eight-at-a-time neighbour search give the scalar bytes.
    /// </summary>
    [Fact]
    public void Both_paths_agree_on_every_input_family()
    {
        const int cols = 1024;
        for (var family = 0; family < KQuantVectorPathTests.Families; ++family)
        {
            var rng = new Random(300 + family);
            var x = new float[4 * cols];
            KQuantVectorPathTests.Fill(x, family, rng);
            var importance = Enumerable.Range(0, cols).Select(_ => (float)rng.NextDouble() * 10 + 1e-3f).ToArray();
            var bytes = GgmlTypeInfo.Of(GgmlType.IQ1_S).RowBytes(cols) * 4;
            var scalar = new byte[bytes];
            var vector = new byte[bytes];
            new IQ1_SCodec(false).Encode(x, cols, importance, scalar);
            new IQ1_SCodec(true).Encode(x, cols, importance, vector);
            var at = scalar.AsSpan().CommonPrefixLength(vector);
            Assert.True(at == bytes, $"family {family}: first difference at byte {at}");
        }
    }

    /// <summary>The rank sort leaves equal values (−0 and +0 among them) in position order, as the insertion sort does.</summary>
    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(32)]
    public void Lane_sort_is_the_stable_sort(int n)
    {
        var rng = new Random(n);
        for (var trial = 0; trial < 200; ++trial)
        {
            var x = Enumerable.Range(0, n).Select(_ => rng.Next(4) switch
            {
                0 => 0f,
                1 => -0f,
                2 => rng.Next(-2, 3) * 0.5f,
                _ => (float)rng.NextDouble() - 0.5f,
            }).ToArray();
            var expected = new int[n];
            var actual = new int[n];
            Quanta.Codecs.Search.Iq1Encoding.SortAscending(x, expected);
            Quanta.Codecs.Search.Iq1Encoding.SortAscendingLanes(x, actual);
            Assert.Equal(expected, actual);
            Assert.Equal(Enumerable.Range(0, n), expected.Order());
        }
    }
}
