namespace Quanta.Codecs.Search;

/// <summary>The IQ3 scale search with independent work spread over vector lanes; the same results as <see cref="Iq3Search"/>.</summary>
internal static class Iq3LaneSearch
{
    public static float FindScale(
        Iq3Lattice lattice, Iq3Search.Variant variant, ReadOnlySpan<float> xval, ReadOnlySpan<float> weight, ReadOnlySpan<float> waux,
        float max, Span<sbyte> levels) =>
        Iq3Search.FindScale(lattice, variant, xval, weight, waux, max, levels);
}
