using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Activations to Q8_0 as ggml-cpu's x86 <c>quantize_row_q8_0</c> (AVX/AVX2 path) writes them, which is not the
/// reference <c>quantize_row_q8_0_ref</c> the Q8_0 codec follows: the multiplier is <c>127/amax</c> (not
/// <c>1/(amax/127)</c>) and values round half to even (<c>_mm256_round_ps(_MM_ROUND_NEAREST)</c>), not away from
/// zero. llama.cpp's x86 builds compute every Q8_0 and Q4_0/Q5_0/IQ4_NL dot product against these bytes.
/// </summary>
public static class Q8_0Activations
{
    public const int BlockElements = 32;
    public const int BlockBytes = 34;

    public static void Quantize(ReadOnlySpan<float> x, Span<byte> destination, KernelWidth width)
    {
        if (x.Length % BlockElements != 0)
        {
            throw new ArgumentException($"{x.Length} values are not a whole number of {BlockElements}-element blocks");
        }
        for (var b = 0; b < x.Length / BlockElements; b++)
        {
            var block = x.Slice(b * BlockElements, BlockElements);
            var output = destination.Slice(b * BlockBytes, BlockBytes);
            if (width == KernelWidth.Scalar)
            {
                QuantizeBlockScalar(block, output);
            }
            else
            {
                QuantizeBlock256(block, output);
            }
        }
    }

    /// <summary>The specification: one block, element by element.</summary>
    internal static void QuantizeBlockScalar(ReadOnlySpan<float> x, Span<byte> block)
    {
        var amax = 0f;
        for (var j = 0; j < BlockElements; j++)
        {
            amax = MathF.Max(amax, MathF.Abs(x[j]));
        }
        var d = amax / 127f;
        var id = amax != 0 ? 127f / amax : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        for (var j = 0; j < BlockElements; j++)
        {
            block[2 + j] = (byte)(sbyte)(int)MathF.Round(x[j] * id, MidpointRounding.ToEven);
        }
    }

    // A block is 32 floats: four 256-bit vectors, so the 512-bit width has nothing wider to use here.
    static void QuantizeBlock256(ReadOnlySpan<float> x, Span<byte> block)
    {
        var v = MemoryMarshal.Cast<float, Vector256<float>>(x);
        var amax = Vector256.Max(Vector256.Max(Vector256.Abs(v[0]), Vector256.Abs(v[1])), Vector256.Max(Vector256.Abs(v[2]), Vector256.Abs(v[3])));
        var max = 0f;
        for (var i = 0; i < Vector256<float>.Count; i++)
        {
            max = MathF.Max(max, amax[i]);
        }
        var d = max / 127f;
        var id = Vector256.Create(max != 0 ? 127f / max : 0f);
        BinaryPrimitives.WriteUInt16LittleEndian(block, Fp16.FromFloat(d));
        var bytes = Vector256.Narrow(
            Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(v[0] * id)), Vector256.ConvertToInt32(Vector256.Round(v[1] * id))),
            Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(v[2] * id)), Vector256.ConvertToInt32(Vector256.Round(v[3] * id))));
        bytes.AsByte().CopyTo(block[2..]);
    }
}
