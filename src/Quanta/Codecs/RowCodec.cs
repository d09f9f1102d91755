using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// Shared frame for codecs whose rows are independent (every format ggml has): checks the call once,
/// rejects non-finite rows, and hands each row to the format. ggml quantizes a whole chunk in one call on
/// the no-importance path, but its blocks never straddle rows, so row by row gives the same bytes.
/// </summary>
internal abstract class RowCodec : IBlockCodec
{
    protected RowCodec(GgmlType type)
    {
        Type = type;
        Info = GgmlTypeInfo.Of(type);
    }

    public GgmlType Type { get; }

    public GgmlTypeInfo Info { get; }

    public virtual bool CanEncode => true;

    public virtual void Encode(ReadOnlySpan<float> rows, int rowLength, ReadOnlySpan<float> importance, Span<byte> destination)
    {
        var rowCount = CodecArguments.CheckEncode(Info, rows.Length, rowLength, importance, destination.Length);
        var rowBytes = (int)Info.RowBytes(rowLength);
        for (var r = 0; r < rowCount; r++)
        {
            var row = rows.Slice(r * rowLength, rowLength);
            // Checked row by row, just before the row is encoded, while it is in cache; rows before a bad one
            // are already written when the exception leaves.
            CodecArguments.ThrowIfNonFinite(row, r);
            EncodeRow(row, importance, destination.Slice(r * rowBytes, rowBytes));
        }
    }

    public void Decode(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CodecArguments.CheckDecode(Info, source.Length, destination.Length);
        DecodeBlocks(source, destination);
    }

    /// <summary>Encodes one finite row; <paramref name="importance"/> is empty or one weight per column.</summary>
    protected abstract void EncodeRow(ReadOnlySpan<float> row, ReadOnlySpan<float> importance, Span<byte> destination);

    /// <summary>Decodes whole blocks; lengths are already checked.</summary>
    protected abstract void DecodeBlocks(ReadOnlySpan<byte> source, Span<float> destination);
}
