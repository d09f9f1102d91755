using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// The frame IQ3_XXS and IQ3_S share: ggml runs one <c>quantize_row_iq3_*_impl</c> with or without importance
/// weights, so both of <see cref="SuperBlockCodec"/>'s paths land in one routine, after the weights are checked.
/// </summary>
public abstract class IQ3Codec : SuperBlockCodec
{
    private protected IQ3Codec(GgmlType type, bool vectorized)
        : base(type, vectorized)
    {
    }

    protected sealed override void EncodeBlock(ReadOnlySpan<float> x, Span<byte> block) => EncodeSuperBlock(x, default, block);

    protected sealed override void EncodeBlockWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block)
    {
        Iq3Encoding.RejectNegative(importance);
        EncodeSuperBlock(x, importance, block);
    }

    /// <summary>One super-block; <paramref name="importance"/> is empty or one non-negative weight per value.</summary>
    private protected abstract void EncodeSuperBlock(ReadOnlySpan<float> x, ReadOnlySpan<float> importance, Span<byte> block);
}
