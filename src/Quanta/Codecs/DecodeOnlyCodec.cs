using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// A format Quanta reads but does not write yet. Decoding follows ggml's <c>to_float</c> bit for bit; encoding is
/// refused with <see cref="NotSupportedException"/> saying why, before anything is checked or written.
/// </summary>
public abstract class DecodeOnlyCodec : IBlockCodec
{
    private readonly GgmlTypeInfo _info;
    private readonly string _whyNotEncode;

    /// <param name="type">The block format.</param>
    /// <param name="whyNotEncode">The reason given when encoding is asked for.</param>
    protected DecodeOnlyCodec(GgmlType type, string whyNotEncode)
    {
        Type = type;
        _info = GgmlTypeInfo.Of(type);
        _whyNotEncode = whyNotEncode;
    }

    public GgmlType Type { get; }

    public bool CanEncode => false;

    public void Encode(ReadOnlySpan<float> rows, int rowLength, ReadOnlySpan<float> importance, Span<byte> destination) =>
        throw new NotSupportedException(_whyNotEncode);

    public void Decode(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var blocks = CodecArguments.CheckDecode(_info, source.Length, destination.Length);
        var blockBytes = _info.BlockBytes;
        var blockElements = _info.BlockElements;
        for (var b = 0; b < blocks; ++b)
        {
            DecodeBlock(source.Slice(b * blockBytes, blockBytes), destination.Slice(b * blockElements, blockElements));
        }
    }

    /// <summary>One block of ggml's <c>dequantize_row_*</c>.</summary>
    protected abstract void DecodeBlock(ReadOnlySpan<byte> block, Span<float> y);
}
