using Quanta.Formats;
using Quanta.Formats.Safetensors;

namespace Quanta.Tests.Formats.Safetensors;

public class SafetensorsFileTests
{
    [Fact]
    public void Reads_header_tensors_and_metadata()
    {
        using var file = SafetensorsFile.FromBytes(SafetensorsBytes.Small(), "small.safetensors");
        Assert.Equal(["a.bias", "b.weight"], file.Tensors.Select(t => t.Name));
        var b = file.FindTensor("b.weight")!;
        Assert.Equal(SafetensorsDType.BF16, b.Type);
        Assert.Equal([2L, 3L], b.Shape);
        Assert.Equal(12, b.ByteSize);
        Assert.Equal(6, b.ElementCount);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(file.DataOffset, b.FileOffset);
        var floats = new float[6];
        b.ReadFloats(0, floats, new byte[12]);
        var raw = b.Data.ToArray();
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(BFloat16.ToFloat(BitConverter.ToUInt16(raw, i * 2)), floats[i]);
        }
    }

    [Fact]
    public void Every_dtype_converts_exactly()
    {
        using var file = SafetensorsFile.FromBytes(SafetensorsBytes.AllTypes());
        Assert.Equal(14, file.Tensors.Count);
        Assert.Equal(1, file.FindTensor("scalar")!.ElementCount);
        Assert.Equal(0, file.FindTensor("empty")!.ByteSize);
        foreach (var t in file.Tensors.Where(t => t.ElementCount > 0))
        {
            var floats = new float[t.ElementCount];
            t.ReadFloats(0, floats, new byte[t.ByteSize]);
            var raw = t.Data;
            for (var i = 0; i < floats.Length; i++)
            {
                var expected = t.Type switch
                {
                    SafetensorsDType.F64 => (float)BitConverter.ToDouble(raw[(i * 8)..]),
                    SafetensorsDType.F32 => BitConverter.ToSingle(raw[(i * 4)..]),
                    SafetensorsDType.F16 => (float)BitConverter.ToHalf(raw[(i * 2)..]),
                    SafetensorsDType.BF16 => BitConverter.UInt32BitsToSingle((uint)BitConverter.ToUInt16(raw[(i * 2)..]) << 16),
                    SafetensorsDType.F8_E4M3 => SafetensorsDTypes.E4M3ToFloat(raw[i]),
                    SafetensorsDType.F8_E5M2 => (float)BitConverter.ToHalf([0, raw[i]]),
                    SafetensorsDType.I64 => BitConverter.ToInt64(raw[(i * 8)..]),
                    SafetensorsDType.I32 => BitConverter.ToInt32(raw[(i * 4)..]),
                    SafetensorsDType.I16 => BitConverter.ToInt16(raw[(i * 2)..]),
                    SafetensorsDType.I8 => (sbyte)raw[i],
                    SafetensorsDType.U8 => raw[i],
                    _ => raw[i] != 0 ? 1f : 0f,
                };
                Assert.True(expected.Equals(floats[i]), $"{t.Name} [{i}]: {floats[i]}, expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData(0x00, 0f)]
    [InlineData(0x38, 1f)] // exponent 7 = bias
    [InlineData(0x7E, 448f)] // largest finite
    [InlineData(0x01, 0.001953125f)] // smallest subnormal: 2^-9
    [InlineData(0xC0, -2f)]
    public void E4M3_values(byte b, float expected) => Assert.Equal(expected, SafetensorsDTypes.E4M3ToFloat(b));

    [Fact]
    public void E4M3_nan() => Assert.True(float.IsNaN(SafetensorsDTypes.E4M3ToFloat(0x7F)));

    public static TheoryData<string, string> BadHeaders() => new()
    {
        { """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", "needs 8 bytes" },
        { """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}""", "past its end" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}""", "overlap" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "appears twice" },
        { """{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}""", "unsupported dtype" },
        { """{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", "non-negative" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", "begin <= end" },
        { """{"a":{"dtype":"F32","shape":[1]}}""", "data_offsets" },
        { """{"a":{"shape":[1],"data_offsets":[0,4]}}""", "dtype" },
        { """{"a":[1,2]}""", "expected an object" },
        { """{"__metadata__":{"x":1}}""", "expected a string" },
        { """{"a":""", "not valid JSON" },
        { """[1]   """, "does not start with '{'" },
        { """{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}""", "more bytes than a file can hold" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void Bad_headers_are_refused_with_what_was_expected(string header, string message)
    {
        var bytes = SafetensorsBytes.Build(header, new byte[8]);
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.FromBytes(bytes, "bad.safetensors"));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("bad.safetensors: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_length_is_checked_before_anything_is_allocated()
    {
        var bytes = SafetensorsBytes.Small();
        BitConverter.GetBytes(200_000_000UL).CopyTo(bytes, 0);
        Assert.Contains("above the", Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.FromBytes(bytes)).Message, StringComparison.Ordinal);
        BitConverter.GetBytes(5000UL).CopyTo(bytes, 0);
        Assert.Contains("past the end", Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.FromBytes(bytes)).Message, StringComparison.Ordinal);
        Assert.Contains("shorter than", Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.FromBytes([1, 2, 3])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sharded_checkpoint_through_the_index()
    {
        var dir = Path.Combine(Path.GetTempPath(), "quanta-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "model-00002-of-00002.safetensors"), SafetensorsBytes.Build("""{"z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]));
            File.WriteAllBytes(Path.Combine(dir, "model-00001-of-00002.safetensors"), SafetensorsBytes.Small());
            File.WriteAllText(Path.Combine(dir, SafetensorsCheckpoint.IndexFileName),
                """{"metadata":{},"weight_map":{"z":"model-00002-of-00002.safetensors","a.bias":"model-00001-of-00002.safetensors","b.weight":"model-00001-of-00002.safetensors"}}""");
            using (var checkpoint = SafetensorsCheckpoint.Open(dir))
            {
                Assert.Equal(["a.bias", "b.weight", "z"], checkpoint.Tensors.Select(t => t.Name));
                Assert.Equal(2, checkpoint.Files.Count);
            }
            File.WriteAllText(Path.Combine(dir, SafetensorsCheckpoint.IndexFileName),
                """{"weight_map":{"z":"model-00002-of-00002.safetensors","a.bias":"model-00001-of-00002.safetensors"}}""");
            Assert.Contains("missing from weight_map", Assert.Throws<SafetensorsFormatException>(() => SafetensorsCheckpoint.Open(dir)).Message, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, SafetensorsCheckpoint.IndexFileName),
                """{"weight_map":{"z":"model-00003-of-00002.safetensors"}}""");
            Assert.Contains("does not exist", Assert.Throws<SafetensorsFormatException>(() => SafetensorsCheckpoint.Open(dir)).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
