using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Tests.Formats;
using Xunit.Abstractions;

namespace Quanta.Tests.Codecs;

/// <summary>
/// Every codec against ggml's own output (Fixtures/quant, produced by ggml_quantize_chunk and to_float).
/// The theories hold only the cases of types that have a codec; <see cref="Covered_types_are_listed"/> says
/// which types those are, so an unimplemented type is visible instead of passing silently.
/// </summary>
public class GoldenQuantTests(ITestOutputHelper output)
{
    /// <summary>Types this branch promises; the test fails if any of them loses its codec or its cases.</summary>
    static readonly GgmlType[] Required =
        [
            GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
            GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
            GgmlType.IQ4_NL, GgmlType.IQ4_XS, GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.MXFP4, GgmlType.NVFP4,
            GgmlType.Q1_0, GgmlType.Q2_0,
            GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S,
            GgmlType.IQ1_S, GgmlType.IQ1_M,
        ];

    public static TheoryData<string> EncodableCases() => GoldenQuantCases.Ids(GoldenQuantCases.Encodable());

    public static TheoryData<string> DecodableCases() => GoldenQuantCases.Ids(GoldenQuantCases.Decodable());

    [Theory]
    [MemberData(nameof(EncodableCases))]
    public void Encode_reproduces_ggml_bytes(string id)
    {
        var golden = GoldenQuantCases.ById(id);
        var codec = BlockCodecs.Get(golden.GgmlType);
        var input = golden.ReadInput();
        Assert.Equal(golden.Rows * golden.Cols, input.Length);
        var expected = golden.ReadQuantized();
        var actual = new byte[expected.Length];
        codec.Encode(input, golden.Cols, golden.ReadImportance(), actual);
        AssertSameBytes(expected, actual, GgmlTypeInfo.Of(golden.GgmlType), golden.Cols);
    }

    [Theory]
    [MemberData(nameof(DecodableCases))]
    public void Decode_reproduces_ggml_floats(string id)
    {
        var golden = GoldenQuantCases.ById(id);
        var codec = BlockCodecs.Get(golden.GgmlType);
        var expected = golden.ReadDequantized();
        var actual = new float[expected.Length];
        codec.Decode(golden.ReadQuantized(), actual);
        Fp16Tests.AssertSameBits(expected, actual, id);
    }

    [Fact]
    public void Covered_types_are_listed()
    {
        var byType = GoldenQuantCases.All.GroupBy(c => c.Type).OrderBy(g => g.First().GgmlTypeId).ToList();
        foreach (var group in byType)
        {
            Assert.True(GgmlTypeInfo.TryParse(group.Key, out var info), $"manifest type {group.Key} is unknown");
            Assert.All(group, c => Assert.Equal((int)info.Type, c.GgmlTypeId));
        }

        var covered = byType.Where(g => BlockCodecs.TryGet(g.First().GgmlType, out _)).ToList();
        var missing = byType.Where(g => !BlockCodecs.TryGet(g.First().GgmlType, out _)).ToList();
        output.WriteLine($"covered ({covered.Count} types, {covered.Sum(g => g.Count())} cases): " +
            string.Join(", ", covered.Select(g => $"{g.Key} ×{g.Count()}")));
        output.WriteLine($"not covered ({missing.Count} types, {missing.Sum(g => g.Count())} cases): " +
            string.Join(", ", missing.Select(g => $"{g.Key} ×{g.Count()}")));

        foreach (var type in Required)
        {
            Assert.True(BlockCodecs.TryGet(type, out var codec) && codec.CanEncode, $"{type} has no encoding codec");
            Assert.Contains(GoldenQuantCases.Encodable(), c => c.GgmlType == type);
        }
        // Nothing of a covered type may fall out of the theories.
        Assert.Equal(covered.Sum(g => g.Count()), GoldenQuantCases.Decodable().Count());
    }

    static void AssertSameBytes(byte[] expected, byte[] actual, GgmlTypeInfo info, int cols)
    {
        var at = expected.AsSpan().CommonPrefixLength(actual);
        if (at == expected.Length && expected.Length == actual.Length)
        {
            return;
        }
        var rowBytes = info.RowBytes(cols);
        Assert.Fail($"{info.Name}: first difference at byte {at} (row {at / rowBytes}, block {at % rowBytes / info.BlockBytes}, " +
            $"byte {at % rowBytes % info.BlockBytes} of the block): 0x{actual[at]:X2}, expected 0x{expected[at]:X2}");
    }
}
