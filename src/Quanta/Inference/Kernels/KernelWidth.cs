using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>The SIMD width a kernel runs at. Every kernel has a scalar twin that is its specification.</summary>
public enum KernelWidth
{
    Scalar = 0,
    Vector256 = 256,
    Vector512 = 512,
}

/// <summary>
/// The one place kernels choose their width. As the codecs do, it follows what the runtime accelerates, so the
/// runtime's own switches force a path: <c>DOTNET_EnableHWIntrinsic=0</c> gives the scalar twins,
/// <c>DOTNET_PreferredVectorBitWidth=256</c> (or a CPU without AVX-512) the 256-bit paths.
/// </summary>
public static class KernelWidths
{
    public static KernelWidth Current { get; } =
        Vector512.IsHardwareAccelerated ? KernelWidth.Vector512
        : Vector256.IsHardwareAccelerated ? KernelWidth.Vector256
        : KernelWidth.Scalar;
}
