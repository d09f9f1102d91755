using Quanta.Conversion.Tokenizers;
using Quanta.Formats.Tokenizer;

namespace Quanta.Tests.Conversion.Tokenizers;

public class SentencePieceModelTests
{
    [Fact]
    public void Reads_the_llama2_tokenizer_model()
    {
        var model = SentencePieceModel.Read(Path.Combine(TokenizerFixtures.Root, "tokenizer.model"));

        Assert.Equal(32000, model.Pieces.Count);
        Assert.Equal(new SentencePiece("<unk>", 0f, GgufTokenType.Unknown), model.Pieces[0]);
        Assert.Equal(new SentencePiece("<s>", 0f, GgufTokenType.Control), model.Pieces[1]);
        Assert.Equal(new SentencePiece("<0x00>", 0f, GgufTokenType.Byte), model.Pieces[3]);
        Assert.Equal(new SentencePiece("\u2581t", -1f, GgufTokenType.Normal), model.Pieces[260]);
        Assert.Equal(SentencePieceModelType.Bpe, model.ModelType);
        Assert.Equal(32000, model.TrainerVocabSize);
        Assert.True(model.ByteFallback);
        Assert.Equal((0, 1, 2, -1), (model.UnkId, model.BosId, model.EosId, model.PadId));
        Assert.Equal("identity", model.NormalizerName);
        Assert.True(model.AddDummyPrefix);
        Assert.False(model.RemoveExtraWhitespaces);
    }

    [Fact]
    public void Reads_a_small_model_with_defaults_for_missing_fields()
    {
        var model = SentencePieceModel.Parse(ProtobufBuilder.SmallModel());

        Assert.Equal(8, model.Pieces.Count);
        Assert.Equal(GgufTokenType.UserDefined, model.Pieces[5].Type);
        // A piece without a type field is NORMAL, per the proto default.
        Assert.Equal(new SentencePiece("er", -2f, GgufTokenType.Normal), model.Pieces[7]);
        Assert.Equal(-1, model.PadId);
        Assert.False(model.AddDummyPrefix);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x05, 0x0A }, "runs past the end")]          // piece length beyond the buffer
    [InlineData(new byte[] { 0x48, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "longer than")]
    [InlineData(new byte[] { 0x4B }, "unsupported wire type")]                   // field 9, wire type 3 (group)
    [InlineData(new byte[] { 0x00 }, "invalid field number 0")]
    [InlineData(new byte[] { 0x0A, 0x05, 0x15, 0x00, 0x00, 0x00, 0x00 }, "has no text")] // a piece with only a score
    [InlineData(new byte[] { 0x0A, 0x02, 0x12, 0x00 }, "wire type 2, expected 5")]
    [InlineData(new byte[] { }, "no pieces")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0xFF }, "not valid UTF-8")]
    [InlineData(new byte[] { 0x0A, 0x05, 0x0A, 0x01, 0x61, 0x18, 0x09 }, "unknown piece type 9")]
    public void Malformed_models_give_a_format_error(byte[] data, string expected)
    {
        var e = Assert.Throws<TokenizerFormatException>(() => SentencePieceModel.Parse(data, "bad.model"));
        Assert.Contains("bad.model", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
