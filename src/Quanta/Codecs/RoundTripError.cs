using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Codecs;

/// <summary>
/// How far a tensor moved through quantization: both versions decoded with the codecs to float32 and
/// compared element by element (root mean square error, the same relative to the original's root mean
/// square, and the largest absolute error).
/// </summary>
/// <param name="Rmse">Root mean square of the element errors.</param>
/// <param name="RelativeRmse">The error's root sum of squares over the original's (0 when the original is all zeros).</param>
/// <param name="MaxAbsoluteError">Largest |quantized − original|.</param>
public readonly record struct RoundTripError(double Rmse, double RelativeRmse, double MaxAbsoluteError)
{
    /// <summary>Compares two tensors of the same element count, each decoded from its own type.</summary>
    public static RoundTripError Measure(GgufTensor original, GgufTensor quantized)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(quantized);
        if (original.Info.ElementCount != quantized.Info.ElementCount)
        {
            throw new ArgumentException($"tensor '{quantized.Name}' has {quantized.Info.ElementCount} elements, the original {original.Info.ElementCount}");
        }
        return Measure(Decode(original), Decode(quantized));
    }

    /// <summary>Compares decoded values with the originals.</summary>
    public static RoundTripError Measure(ReadOnlySpan<float> original, ReadOnlySpan<float> quantized)
    {
        if (original.Length != quantized.Length)
        {
            throw new ArgumentException($"{quantized.Length} values to compare with {original.Length}");
        }
        double sumSquares = 0, sumSquaresOriginal = 0, max = 0;
        for (var i = 0; i < original.Length; i++)
        {
            var error = (double)quantized[i] - original[i];
            sumSquares += error * error;
            sumSquaresOriginal += (double)original[i] * original[i];
            max = Math.Max(max, Math.Abs(error));
        }
        var rmse = original.Length == 0 ? 0 : Math.Sqrt(sumSquares / original.Length);
        var relative = sumSquaresOriginal == 0 ? 0 : Math.Sqrt(sumSquares / sumSquaresOriginal);
        return new RoundTripError(rmse, relative, max);
    }

    static float[] Decode(GgufTensor tensor)
    {
        var values = new float[tensor.Info.ElementCount];
        if (tensor.Type == GgmlType.F32)
        {
            MemoryMarshal.Cast<byte, float>(tensor.Data).CopyTo(values);
        }
        else
        {
            BlockCodecs.Get(tensor.Type).Decode(tensor.Data, values);
        }
        return values;
    }
}
