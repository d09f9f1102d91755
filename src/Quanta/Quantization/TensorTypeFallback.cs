using Quanta.Formats;

namespace Quanta.Quantization;

/// <summary>
/// What llama.cpp writes when a row is not a whole number of the chosen type's blocks
/// (<c>tensor_type_fallback</c>, 2026 source): a 32-element type of similar quality, else F16. It applies
/// after the mix rules, <c>--pure</c> and <c>--tensor-type</c> alike.
/// </summary>
public static class TensorTypeFallback
{
    /// <summary>
    /// The type a row of <paramref name="rowLength"/> elements can take: <paramref name="target"/> itself when
    /// the row holds whole blocks, otherwise its fallback. Throws <see cref="QuantizationException"/> when the
    /// target has no fallback (llama.cpp aborts the same way).
    /// </summary>
    public static GgmlType Resolve(GgmlType target, long rowLength, string tensorName)
    {
        if (Fits(target, rowLength))
        {
            return target;
        }
        var fallback = FallbackOf(target) ?? throw new QuantizationException(
            $"tensor '{tensorName}': row length {rowLength} is not a multiple of {GgmlTypeInfo.Of(target).BlockElements} "
            + $"(required for {GgmlTypeInfo.Of(target).Name}) and no fallback type is defined for {GgmlTypeInfo.Of(target).Name}");
        // Rows not even divisible by 32 are rare; llama.cpp then keeps 16-bit floats rather than abort.
        return Fits(fallback, rowLength) ? fallback : GgmlType.F16;
    }

    /// <summary>Whether a row of this length is a whole number of the type's blocks.</summary>
    public static bool Fits(GgmlType type, long rowLength) => rowLength % GgmlTypeInfo.Of(type).BlockElements == 0;

    /// <summary>The 32-element stand-in llama.cpp uses for a type, or null when it defines none.</summary>
    public static GgmlType? FallbackOf(GgmlType type) => type switch
    {
        // IQ types (256-element blocks) → the 32-element non-linear type.
        GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S
            or GgmlType.IQ3_XXS or GgmlType.IQ3_S or GgmlType.IQ4_XS => GgmlType.IQ4_NL,
        // Low-bit K, ternary and Q2_0 types → Q4_0, the smallest legacy type.
        GgmlType.Q2_0 or GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.TQ1_0 or GgmlType.TQ2_0 => GgmlType.Q4_0,
        GgmlType.Q4_K => GgmlType.Q5_0,
        GgmlType.Q5_K => GgmlType.Q5_1,
        GgmlType.Q6_K => GgmlType.Q8_0,
        _ => null,
    };
}
