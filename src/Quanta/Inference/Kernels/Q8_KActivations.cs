using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quanta.Inference.Kernels;

/// <summary>
/// Activations to Q8_K, the K-quants' <c>vec_dot_type</c>: 256 values as a float32 <c>d</c>, 256 signed bytes and
/// sixteen int16 sums of 16 bytes each (292 bytes). ggml-cpu's x86 <c>quantize_row_q8_K</c> is the reference
/// <c>quantize_row_q8_K_ref</c>: the scale comes from the element of largest magnitude (the first one on a tie,
/// sign kept), <c>iscale = −127/max</c>, values rounded half to even (<c>nearest_int</c>) and capped at 127.
/// </summary>
public static class Q8_KActivations
{
    public const int BlockElements = 256;
    public const int BlockBytes = 292;
    public const int QuantsOffset = 4;
    public const int SumsOffset = 260;

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
                QuantizeBlockVector(block, output);
            }
        }
    }

    internal static void QuantizeBlockScalar(ReadOnlySpan<float> x, Span<byte> block)
    {
        float max = 0, amax = 0;
        for (var j = 0; j < BlockElements; j++)
        {
            var ax = MathF.Abs(x[j]);
            if (ax > amax)
            {
                amax = ax;
                max = x[j];
            }
        }
        var qs = MemoryMarshal.Cast<byte, sbyte>(block.Slice(QuantsOffset, BlockElements));
        if (amax == 0)
        {
            block.Clear();
            return;
        }
        var iscale = -127f / max;
        for (var j = 0; j < BlockElements; j++)
        {
            qs[j] = (sbyte)Math.Min(127, (int)MathF.Round(iscale * x[j], MidpointRounding.ToEven));
        }
        WriteSumsAndScale(qs, iscale, block);
    }

    internal static void QuantizeBlockVector(ReadOnlySpan<float> x, Span<byte> block)
    {
        var v = MemoryMarshal.Cast<float, Vector256<float>>(x);
        var amaxVector = Vector256<float>.Zero;
        foreach (var lane in v)
        {
            amaxVector = Vector256.Max(amaxVector, Vector256.Abs(lane));
        }
        var amax = 0f;
        for (var i = 0; i < Vector256<float>.Count; i++)
        {
            amax = MathF.Max(amax, amaxVector[i]);
        }
        if (amax == 0)
        {
            block.Clear();
            return;
        }
        // The scalar loop keeps the first element whose magnitude is the largest; its sign decides the scale's.
        var first = 0;
        while (MathF.Abs(x[first]) != amax)
        {
            first++;
        }
        var iscale = -127f / x[first];
        var scale = Vector256.Create(iscale);
        var cap = Vector256.Create(127);
        var qs = MemoryMarshal.Cast<byte, sbyte>(block.Slice(QuantsOffset, BlockElements));
        for (var j = 0; j < v.Length; j += 4)
        {
            var bytes = Vector256.Narrow(
                Vector256.Narrow(
                    Vector256.Min(cap, Vector256.ConvertToInt32(Vector256.Round(v[j] * scale))),
                    Vector256.Min(cap, Vector256.ConvertToInt32(Vector256.Round(v[j + 1] * scale)))),
                Vector256.Narrow(
                    Vector256.Min(cap, Vector256.ConvertToInt32(Vector256.Round(v[j + 2] * scale))),
                    Vector256.Min(cap, Vector256.ConvertToInt32(Vector256.Round(v[j + 3] * scale)))));
            bytes.CopyTo(qs[(j * 8)..]);
        }
        WriteSumsAndScale(qs, iscale, block);
    }

    static void WriteSumsAndScale(ReadOnlySpan<sbyte> qs, float iscale, Span<byte> block)
    {
        for (var j = 0; j < 16; j++)
        {
            var sum = 0;
            for (var i = 0; i < 16; i++)
            {
                sum += qs[j * 16 + i];
            }
            BinaryPrimitives.WriteInt16LittleEndian(block[(SumsOffset + 2 * j)..], (short)sum);
        }
        BinaryPrimitives.WriteSingleLittleEndian(block, 1 / iscale);
    }
}
