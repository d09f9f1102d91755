using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>The <see cref="IVecDot"/> of each weight type the runtime can multiply.</summary>
public static class VecDots
{
    static readonly IVecDot[] Registered =
    [
        new F32Dot(), new F16Dot(), new BF16Dot(), new Q8_0Dot(), new Q4KDot(), new Q5KDot(), new Q6KDot(),
        LegacyDot.Q4_0, LegacyDot.Q4_1, LegacyDot.Q5_0, LegacyDot.Q5_1, LegacyDot.Iq4Nl, new Iq4XsDot(), new Q2KDot(), new Q3KDot(),
        new TQ1_0Dot(), new TQ2_0Dot(), new Iq3XxsDot(), new Iq3SDot(),
        new Iq2XxsDot(), new Iq2XsDot(), new Iq2SDot(), new Iq1SDot(), new Iq1MDot(),
        new Mxfp4Dot(), new Nvfp4Dot(), new Q1_0Dot(), new Q2_0Dot(),
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
