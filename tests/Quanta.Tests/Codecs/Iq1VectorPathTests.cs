using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Tests.Codecs;

/// <summary>
/// IQ1_S's lane-parallel split search against ggml's bytes and against the scalar search, forced on each path
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
}
