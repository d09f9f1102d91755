using System.Buffers.Binary;
using System.Text;

namespace Quanta.Tests.Conversion.Tokenizers;

/// <summary>Writes protobuf wire format, to build small SentencePiece models for tests.</summary>
internal sealed class ProtobufBuilder
{
    readonly List<byte> _bytes = [];

    public ProtobufBuilder Varint(int field, ulong value)
    {
        Key(field, 0);
        WriteVarint(value);
        return this;
    }

    public ProtobufBuilder Float(int field, float value)
    {
        Key(field, 5);
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(buffer, value);
        _bytes.AddRange(buffer.ToArray());
        return this;
    }

    public ProtobufBuilder String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtobufBuilder Message(int field, ProtobufBuilder message) => Bytes(field, message.Build());

    public ProtobufBuilder Bytes(int field, byte[] value)
    {
        Key(field, 2);
        WriteVarint((ulong)value.Length);
        _bytes.AddRange(value);
        return this;
    }

    public byte[] Build() => [.. _bytes];

    void Key(int field, int wire) => WriteVarint(((ulong)field << 3) | (uint)wire);

    void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }
        _bytes.Add((byte)value);
    }

    /// <summary>A small BPE model: unk, bos, eos, two bytes, a user-defined piece, normal pieces.</summary>
    public static byte[] SmallModel()
    {
        static ProtobufBuilder Piece(string text, float score, int type) =>
            new ProtobufBuilder().String(1, text).Float(2, score).Varint(3, (ulong)type);
        return new ProtobufBuilder()
            .Message(1, Piece("<unk>", 0, 2))
            .Message(1, Piece("<s>", 0, 3))
            .Message(1, Piece("</s>", 0, 3))
            .Message(1, Piece("<0x00>", 0, 6))
            .Message(1, Piece("<0x01>", 0, 6))
            .Message(1, Piece("<user>", 0, 4))
            .Message(1, Piece("\u2581t", -1, 1))
            .Message(1, new ProtobufBuilder().String(1, "er").Float(2, -2))
            .Message(2, new ProtobufBuilder().Varint(3, 2).Varint(4, 8).Varint(35, 1)
                .Varint(40, 0).Varint(41, 1).Varint(42, 2).Varint(43, ulong.MaxValue))
            .Message(3, new ProtobufBuilder().String(1, "identity").Varint(3, 0).Varint(4, 0))
            .Build();
    }
}
