using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Activations to Q8_1 (the <c>vec_dot_type</c> of Q4_1 and Q5_1) as ggml-cpu's x86 <c>quantize_row_q8_1</c>
/// writes them: Q8_0's bytes (<see cref="Q8_0Activations"/>: multiplier 127/amax, half to even) after an fp16
/// <c>d</c> and an fp16 <c>s = d·Σq</c> (36 bytes per 32 values).
/// </summary>
public static class Q8_1Activations
{
    public const int BlockElements = 32;
    public const int BlockBytes = 36;

    public static void Quantize(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width)
    {
        if (x.Length % BlockElements != 0)
        {
            throw new ArgumentException($"{x.Length} values are not a whole number of {BlockElements}-element blocks");
        }
        Span<byte> q8_0 = stackalloc byte[Q8_0Activations.BlockBytes];
        for (var b = 0; b < x.Length / BlockElements; b++)
        {
            Q8_0Activations.Quantize(x.Slice(b * BlockElements, BlockElements), q8_0, width);
            var output = destination.Slice(b * BlockBytes, BlockBytes);
            var sum = 0;
            foreach (var q in IntegerDot.Signed(q8_0[2..]))
            {
                sum += q;
            }
            // ggml multiplies the sum by the float d, before d is rounded to fp16 for storage.
            q8_0[..2].CopyTo(output);
            BinaryPrimitives.WriteUInt16LittleEndian(output[2..], Fp16.FromFloat(UnroundedScale(x.Slice(b * BlockElements, BlockElements)) * sum));
            q8_0[2..].CopyTo(output[4..]);
        }
    }

    // The float d = amax/127 that ggml multiplies the sum by, before either is rounded to fp16.
    static float UnroundedScale(ReadOnlySpan<float> x)
    {
        var amax = 0f;
        foreach (var v in x)
        {
            amax = MathF.Max(amax, MathF.Abs(v));
        }
        return amax / 127f;
    }
}
