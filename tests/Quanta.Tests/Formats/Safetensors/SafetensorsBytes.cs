using System.Buffers.Binary;
using System.Text;

namespace Quanta.Tests.Formats.Safetensors;

/// <summary>Builds safetensors files in memory from a header JSON text and a data section.</summary>
internal static class SafetensorsBytes
{
    public static byte[] Build(string headerJson, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>Two tensors (BF16 2×3 and F32 [2]) and metadata.</summary>
    public static byte[] Small()
    {
        var data = new byte[12 + 8];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i * 7);
        }
        return Build(
            """{"__metadata__":{"format":"pt"},"b.weight":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},"a.bias":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}""",
            data);
    }

    /// <summary>Every dtype once, plus a scalar and an empty tensor.</summary>
    public static byte[] AllTypes()
    {
        string[] types = ["F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "I32", "I16", "I8", "U8", "BOOL"];
        int[] sizes = [8, 4, 2, 2, 1, 1, 8, 4, 2, 1, 1, 1];
        var json = new StringBuilder("{");
        long offset = 0;
        for (var i = 0; i < types.Length; i++)
        {
            var n = 2 * sizes[i];
            json.Append($"\"t{i}\":{{\"dtype\":\"{types[i]}\",\"shape\":[2],\"data_offsets\":[{offset},{offset + n}]}},");
            offset += n;
        }
        json.Append($"\"scalar\":{{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[{offset},{offset + 4}]}},");
        offset += 4;
        json.Append($"\"empty\":{{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[{offset},{offset}]}}}}");
        var data = new byte[offset];
        new Random(7).NextBytes(data);
        return Build(json.ToString(), data);
    }
}
