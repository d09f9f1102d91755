using System.Buffers.Binary;
using Quanta.Formats;

namespace Quanta.Conversion.GemmaInt8;

/// <summary>
/// Row operations of gemma_pytorch's int8 format: <c>w[r, c] = int8[r, c] · scaler[r]</c> (<c>gemma/model.py</c>,
/// <c>Linear.forward</c>), its lossless image in GGUF Q8_0, and gemma_pytorch's quantizer
/// (<c>xla_model_parallel.quantize_tensor</c>).
/// </summary>
public static class GemmaInt8Rows
{
    const int BlockElements = 32;
    const int Q8_0BlockBytes = 34;

    /// <summary>
    /// One row to float32. The product of an int8 and a scaler is computed in float32, as gemma_pytorch does once
    /// the model is cast to float32; for a bf16 or fp16 scaler it is exact (at most 16 significant bits).
    /// </summary>
    public static void Dequantize(ReadOnlySpan<sbyte> quants, float scaler, Span<float> destination)
    {
        for (var i = 0; i < quants.Length; i++)
        {
            destination[i] = quants[i] * scaler;
        }
    }

    /// <summary>
    /// True when <paramref name="scaler"/> is exactly an fp16 value, so a Q8_0 block scale can carry it unchanged.
    /// bf16 scalers are, except below fp16's normal range (≈6.1e-5, where fp16 loses mantissa bits) or above 65504.
    /// </summary>
    public static bool FitsFp16(float scaler) =>
        BitConverter.SingleToUInt32Bits(Fp16.ToFloat(Fp16.FromFloat(scaler))) == BitConverter.SingleToUInt32Bits(scaler);

    /// <summary>
    /// Writes one row as Q8_0 blocks whose scale is the row's scaler and whose quants are the int8 values, copied.
    /// ggml decodes <c>qs · d</c> in float32, the same product as <see cref="Dequantize"/>: bit-identical floats.
    /// False (nothing written that matters) when the row length is not a multiple of 32 or the scaler is not an fp16 value.
    /// </summary>
    public static bool TryEncodeQ8_0(ReadOnlySpan<sbyte> quants, float scaler, Span<byte> destination)
    {
        if (quants.Length % BlockElements != 0 || !FitsFp16(scaler))
        {
            return false;
        }
        var d = Fp16.FromFloat(scaler);
        for (int b = 0, o = 0; b < quants.Length; b += BlockElements, o += Q8_0BlockBytes)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination[o..], d);
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(quants.Slice(b, BlockElements)).CopyTo(destination[(o + 2)..]);
        }
        return true;
    }

    /// <summary>
    /// The inverse of <see cref="TryEncodeQ8_0"/>: the int8 values and the scaler of a Q8_0 row, or false when its
    /// blocks do not share one scale (a row that was not written from gemma int8).
    /// </summary>
    public static bool TryDecodeQ8_0(ReadOnlySpan<byte> blocks, Span<sbyte> quants, out float scaler)
    {
        scaler = 0;
        if (blocks.Length % Q8_0BlockBytes != 0 || quants.Length != blocks.Length / Q8_0BlockBytes * BlockElements)
        {
            return false;
        }
        var d = BinaryPrimitives.ReadUInt16LittleEndian(blocks);
        for (int o = 0, q = 0; o < blocks.Length; o += Q8_0BlockBytes, q += BlockElements)
        {
            if (BinaryPrimitives.ReadUInt16LittleEndian(blocks[o..]) != d)
            {
                return false;
            }
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(blocks.Slice(o + 2, BlockElements)).CopyTo(quants[q..]);
        }
        scaler = Fp16.ToFloat(d);
        return true;
    }

    /// <summary>
    /// gemma_pytorch's per-row symmetric int8 quantizer: <c>scale = max(|min|, |max|) / 127.5</c> in float32
    /// (min and max taken with 0), clamped to at least FLT_EPSILON; <c>q = clamp(round(x · (1/scale)), −128, 127)</c>
    /// with round-half-to-even (<c>torch.round</c>) and the reciprocal taken first, as
    /// <c>quantized_decomposed.quantize_per_channel</c> does. Returns the float32 scale; the checkpoint stores it
    /// converted to the model dtype (bf16 for Google's files).
    /// </summary>
    public static float Quantize(ReadOnlySpan<float> row, Span<sbyte> quants)
    {
        float min = 0, max = 0;
        foreach (var x in row)
        {
            // torch.aminmax propagates NaN; a NaN row has no meaningful scale.
            if (float.IsNaN(x))
            {
                throw new ArgumentException("row contains NaN", nameof(row));
            }
            min = Math.Min(min, x);
            max = Math.Max(max, x);
        }
        var scale = Math.Max(-min, max) / 127.5f;
        scale = Math.Max(scale, FloatEpsilon);
        var inverse = 1f / scale;
        for (var i = 0; i < row.Length; i++)
        {
            var q = MathF.Round(row[i] * inverse, MidpointRounding.ToEven);
            quants[i] = (sbyte)Math.Clamp(q, -128f, 127f);
        }
        return scale;
    }

    /// <summary>torch.finfo(torch.float32).eps = 2^-23 (C's FLT_EPSILON, not .NET's float.Epsilon).</summary>
    const float FloatEpsilon = 1.1920929e-07f;
}
