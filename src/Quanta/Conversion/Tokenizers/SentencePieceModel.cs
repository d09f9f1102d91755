using Quanta.Formats.Tokenizer;

namespace Quanta.Conversion.Tokenizers;

/// <summary>One vocabulary entry of a SentencePiece model (<c>ModelProto.SentencePiece</c>).</summary>
/// <param name="Type">SentencePiece's piece type, numerically equal to <see cref="GgufTokenType"/>.</param>
public readonly record struct SentencePiece(string Piece, float Score, GgufTokenType Type);

/// <summary>SentencePiece's algorithm (<c>TrainerSpec.ModelType</c>).</summary>
public enum SentencePieceModelType
{
    Unigram = 1,
    Bpe = 2,
    Word = 3,
    Char = 4,
}

/// <summary>
/// The parts of a SentencePiece <c>tokenizer.model</c> (a serialized <c>ModelProto</c>) that llama.cpp's
/// converter uses: the pieces with score and type, the trainer's special ids and algorithm, and the
/// normalizer flags. Field numbers follow <c>sentencepiece_model.proto</c>; unknown fields are skipped.
/// </summary>
public sealed class SentencePieceModel
{
    // ModelProto
    const int FieldPieces = 1;
    const int FieldTrainerSpec = 2;
    const int FieldNormalizerSpec = 3;

    // ModelProto.SentencePiece
    const int FieldPiece = 1;
    const int FieldScore = 2;
    const int FieldType = 3;

    // TrainerSpec
    const int FieldModelType = 3;
    const int FieldVocabSize = 4;
    const int FieldByteFallback = 35;
    const int FieldUnkId = 40;
    const int FieldBosId = 41;
    const int FieldEosId = 42;
    const int FieldPadId = 43;

    // NormalizerSpec
    const int FieldNormalizerName = 1;
    const int FieldAddDummyPrefix = 3;
    const int FieldRemoveExtraWhitespaces = 4;

    SentencePieceModel(IReadOnlyList<SentencePiece> pieces)
    {
        Pieces = pieces;
    }

    public IReadOnlyList<SentencePiece> Pieces { get; }

    // Defaults are the proto2 declared defaults, used when the file omits the field.
    public SentencePieceModelType ModelType { get; private set; } = SentencePieceModelType.Unigram;
    public int TrainerVocabSize { get; private set; } = 8000;
    public bool ByteFallback { get; private set; }
    public int UnkId { get; private set; }
    public int BosId { get; private set; } = 1;
    public int EosId { get; private set; } = 2;
    public int PadId { get; private set; } = -1;
    public string? NormalizerName { get; private set; }
    public bool AddDummyPrefix { get; private set; } = true;
    public bool RemoveExtraWhitespaces { get; private set; } = true;

    public static SentencePieceModel Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerFormatException(path, -1, $"cannot read: {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses a serialized <c>ModelProto</c>; any malformation is a <see cref="TokenizerFormatException"/>.</summary>
    public static SentencePieceModel Parse(ReadOnlySpan<byte> data, string? file = null)
    {
        var pieces = new List<SentencePiece>();
        var model = new SentencePieceModel(pieces);
        var reader = new ProtobufReader(data, file);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            switch (field)
            {
                case FieldPieces:
                    reader.Expect(field, wire, ProtobufReader.WireLengthDelimited);
                    pieces.Add(ParsePiece(reader.ReadBytes(out var pieceOffset), file, pieceOffset));
                    break;
                case FieldTrainerSpec:
                    reader.Expect(field, wire, ProtobufReader.WireLengthDelimited);
                    model.ParseTrainerSpec(reader.ReadBytes(out var trainerOffset), file, trainerOffset);
                    break;
                case FieldNormalizerSpec:
                    reader.Expect(field, wire, ProtobufReader.WireLengthDelimited);
                    model.ParseNormalizerSpec(reader.ReadBytes(out var normalizerOffset), file, normalizerOffset);
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
        if (pieces.Count == 0)
        {
            throw new TokenizerFormatException(file, -1, "the SentencePiece model has no pieces");
        }
        return model;
    }

    static SentencePiece ParsePiece(ReadOnlySpan<byte> data, string? file, long offset)
    {
        var reader = new ProtobufReader(data, file, offset);
        string? piece = null;
        var score = 0f;
        var type = GgufTokenType.Normal;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            switch (field)
            {
                case FieldPiece:
                    reader.Expect(field, wire, ProtobufReader.WireLengthDelimited);
                    piece = reader.ReadString();
                    break;
                case FieldScore:
                    reader.Expect(field, wire, ProtobufReader.WireFixed32);
                    score = reader.ReadFloat();
                    break;
                case FieldType:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    var at = reader.Offset;
                    var value = reader.ReadVarint();
                    if (value is < (ulong)GgufTokenType.Normal or > (ulong)GgufTokenType.Byte)
                    {
                        throw new TokenizerFormatException(file, at, $"unknown piece type {value}");
                    }
                    type = (GgufTokenType)value;
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
        // `piece` is optional in proto2, but a vocabulary entry without text cannot be tokenized or stored.
        return piece is null
            ? throw new TokenizerFormatException(file, offset, "a piece has no text")
            : new SentencePiece(piece, score, type);
    }

    void ParseTrainerSpec(ReadOnlySpan<byte> data, string? file, long offset)
    {
        var reader = new ProtobufReader(data, file, offset);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            switch (field)
            {
                case FieldModelType:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    var at = reader.Offset;
                    var type = reader.ReadVarint();
                    if (type is < (ulong)SentencePieceModelType.Unigram or > (ulong)SentencePieceModelType.Char)
                    {
                        throw new TokenizerFormatException(file, at, $"unknown model type {type}");
                    }
                    ModelType = (SentencePieceModelType)type;
                    break;
                case FieldVocabSize:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    TrainerVocabSize = reader.ReadInt32();
                    break;
                case FieldByteFallback:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    ByteFallback = reader.ReadBool();
                    break;
                case FieldUnkId:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    UnkId = reader.ReadInt32();
                    break;
                case FieldBosId:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    BosId = reader.ReadInt32();
                    break;
                case FieldEosId:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    EosId = reader.ReadInt32();
                    break;
                case FieldPadId:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    PadId = reader.ReadInt32();
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }

    void ParseNormalizerSpec(ReadOnlySpan<byte> data, string? file, long offset)
    {
        var reader = new ProtobufReader(data, file, offset);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadKey();
            switch (field)
            {
                case FieldNormalizerName:
                    reader.Expect(field, wire, ProtobufReader.WireLengthDelimited);
                    NormalizerName = reader.ReadString();
                    break;
                case FieldAddDummyPrefix:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    AddDummyPrefix = reader.ReadBool();
                    break;
                case FieldRemoveExtraWhitespaces:
                    reader.Expect(field, wire, ProtobufReader.WireVarint);
                    RemoveExtraWhitespaces = reader.ReadBool();
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
    }
}
