using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>The <see cref="IVecDot"/> of each weight type the runtime can multiply.</summary>
public static class VecDots
{
    static readonly IVecDot[] Registered =
    [
        new F32Dot(), new F16Dot(), new BF16Dot(), new Q8_0Dot(), new Q4_KDot(), new Q5_KDot(), new Q6_KDot(),
        LegacyDot.Q4_0, LegacyDot.Q4_1, LegacyDot.Q5_0, LegacyDot.Q5_1, LegacyDot.Iq4Nl, new IQ4_XSDot(), new Q2_KDot(), new Q3_KDot(),
        new TQ1_0Dot(), new TQ2_0Dot(), new IQ3_XXSDot(), new IQ3_SDot(),
        new IQ2_XXSDot(), new IQ2_XSDot(), new IQ2_SDot(), new IQ1_SDot(), new IQ1_MDot(),
        new MXFP4Dot(), new NVFP4Dot(), new Q1_0Dot(), new Q2_0Dot(),
    ];

    public static IReadOnlyList<IVecDot> All => Registered;

    public static bool TryGet(GgmlType type, out IVecDot dot)
    {
        foreach (var candidate in Registered)
        {
            if (candidate.WeightType == type)
            {
                dot = candidate;
                return true;
            }
        }
        dot = null!;
        return false;
    }

    /// <summary>Bytes of one activation row of <paramref name="n"/> elements in <paramref name="dot"/>'s activation type.</summary>
    public static int ActivationRowBytes(this IVecDot dot, int n)
    {
        ArgumentNullException.ThrowIfNull(dot);
        return (int)GgmlTypeInfo.Of(dot.ActivationType).RowBytes(n);
    }
}
