using Quanta.Conversion;
using Quanta.Formats;
using Quanta.Quantization;

namespace Quanta.Cli.Commands;

internal static partial class ConvertCommand
{
    /// <summary>
    /// GPTQ/AWQ layers planned as Q4_0 or Q4_1 are copied losslessly when their groups allow it; says how many
    /// could not be (act-order, asymmetric zeros for Q4_0 ...) and were requantized from float32 instead.
    /// </summary>
    static void WarnAboutLossyPackedLayers(CliContext context, ConvertedModel model, QuantizationJob job)
    {
        var byName = model.Tensors.ToDictionary(t => t.Info.Name, StringComparer.Ordinal);
        var lossy = new List<(string Name, string Reason)>();
        foreach (var entry in job.Plan.Entries.Where(e => e.TargetType is GgmlType.Q4_0 or GgmlType.Q4_1))
        {
            if (byName.TryGetValue(entry.Name, out var tensor) && tensor.PackedLayer is not null && !tensor.IsLossless(entry.TargetType, out var reason))
            {
                lossy.Add((entry.Name, reason!));
            }
        }
        if (lossy.Count > 0)
        {
            context.Error.WriteLine($"warning: {lossy.Count} GPTQ/AWQ layer(s) cannot map to Q4_0/Q4_1 losslessly and are requantized from float32 (first: '{lossy[0].Name}': {lossy[0].Reason})");
        }
    }
}
