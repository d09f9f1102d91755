using System.Globalization;
using Quanta.Codecs;
using Quanta.Formats.Gguf;

namespace Quanta.Evaluation;

/// <summary>
/// The per-tensor view: for every tensor the candidate and the base share by name and element count, the
/// error its decode took against the base's decode (<see cref="RoundTripError"/>), relative to the base
/// tensor's root mean square.
/// </summary>
public static class TensorErrors
{
    public static IReadOnlyList<TensorError> Measure(GgufFile baseFile, GgufFile candidate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(baseFile);
        ArgumentNullException.ThrowIfNull(candidate);
        var errors = new List<TensorError>();
        foreach (var tensor in candidate.Tensors)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (baseFile.FindTensor(tensor.Name) is not { } original || original.Info.ElementCount != tensor.Info.ElementCount)
            {
                continue;
            }
            var error = RoundTripError.Measure(original, tensor);
            // RelativeRmse is ‖q − b‖ / ‖b‖, which is also RMSE / RMS(b); the largest error is put on the same scale.
            var baseRms = error.RelativeRmse == 0 ? 0 : error.Rmse / error.RelativeRmse;
            var relativeMax = baseRms == 0 ? (error.MaxAbsoluteError == 0 ? 0 : double.PositiveInfinity) : error.MaxAbsoluteError / baseRms;
            errors.Add(new TensorError(tensor.Name, tensor.Type, LayerOf(tensor.Name), error.RelativeRmse, relativeMax));
        }
        return errors;
    }

    /// <summary>The block index of a tensor named <c>blk.N.…</c>, or null.</summary>
    public static int? LayerOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!name.StartsWith("blk.", StringComparison.Ordinal))
        {
            return null;
        }
        var end = name.IndexOf('.', 4);
        return end > 4 && int.TryParse(name.AsSpan(4, end - 4), NumberStyles.None, CultureInfo.InvariantCulture, out var layer) ? layer : null;
    }
}
