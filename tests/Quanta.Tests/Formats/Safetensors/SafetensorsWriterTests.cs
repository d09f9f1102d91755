using System.Runtime.InteropServices;
using Quanta.Formats.Safetensors;

namespace Quanta.Tests.Formats.Safetensors;

public class SafetensorsWriterTests
{
    // Expected bytes from huggingface/safetensors' own serialization tests (safetensors/src/tensor.rs).
    [Fact]
    public void Matches_the_reference_serializer_byte_for_byte()
    {
        var data = MemoryMarshal.AsBytes(new float[] { 0, 1, 2, 3, 4, 5 }.AsSpan()).ToArray();
        using var stream = new MemoryStream();
        SafetensorsWriter.Write(stream, [new SafetensorsEntry("attn.0", "F32", [1, 2, 3], s => s.Write(data))]);
        byte[] expected =
        [
            64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
            116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
            58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
            101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
            0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
        ];
        Assert.Equal(expected, stream.ToArray());
    }

    [Fact]
    public void Pads_the_header_with_spaces_and_puts_metadata_first()
    {
        using var empty = new MemoryStream();
        SafetensorsWriter.Write(empty, []);
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32], empty.ToArray());

        using var withMetadata = new MemoryStream();
        SafetensorsWriter.Write(withMetadata, [], new Dictionary<string, string> { ["framework"] = "pt" });
        byte[] expected =
        [
            40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
            95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
            116, 34, 125, 125, 32, 32, 32, 32, 32,
        ];
        Assert.Equal(expected, withMetadata.ToArray());
    }

    [Fact]
    public void Orders_tensors_by_dtype_descending_then_name()
    {
        using var stream = new MemoryStream();
        SafetensorsWriter.Write(stream, [
            new SafetensorsEntry("b", "I8", [1], s => s.WriteByte(1)),
            new SafetensorsEntry("a", "I8", [1], s => s.WriteByte(2)),
            new SafetensorsEntry("z", "F32", [1], s => s.Write(new byte[4])),
            new SafetensorsEntry("c", "BF16", [1], s => s.Write(new byte[2])),
        ]);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.True(text.IndexOf("\"z\"", StringComparison.Ordinal) < text.IndexOf("\"c\"", StringComparison.Ordinal));
        Assert.True(text.IndexOf("\"c\"", StringComparison.Ordinal) < text.IndexOf("\"a\"", StringComparison.Ordinal));
        Assert.True(text.IndexOf("\"a\"", StringComparison.Ordinal) < text.IndexOf("\"b\"", StringComparison.Ordinal));
    }
}
