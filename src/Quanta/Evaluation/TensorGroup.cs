using System.Text.RegularExpressions;
using Quanta.Quantization;

namespace Quanta.Evaluation;

/// <summary>
/// Tensors <c>quanta optimize</c> gives one type together: one block's attention (<c>blk.N.attn_*</c>), one
/// block's feed-forward network (<c>blk.N.ffn_*</c>), or a tensor outside the blocks on its own (the token
/// embedding, the output). <see cref="Pattern"/> is the <c>--tensor-type</c> pattern that selects exactly them
/// among the quantized tensors.
/// </summary>
public sealed record TensorGroup(string Name, string Pattern, IReadOnlyList<string> Tensors)
{
    /// <summary>
    /// The groups of the tensors <paramref name="plan"/> quantizes, in the plan's order of first appearance.
    /// Norms and other tensors the plan keeps as they are belong to no group.
    /// </summary>
    public static IReadOnlyList<TensorGroup> Of(QuantizationPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var groups = new List<(string Name, string Pattern, List<string> Tensors)>();
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in plan.Entries)
        {
            if (entry.Reason is TensorTypeReason.NotQuantizable || entry.IsCopied)
            {
                continue;
            }
            var (name, pattern) = GroupOf(entry.Name);
            if (!byName.TryGetValue(name, out var index))
            {
                index = groups.Count;
                byName[name] = index;
                groups.Add((name, pattern, []));
            }
            groups[index].Tensors.Add(entry.Name);
        }
        return [.. groups.Select(g => new TensorGroup(g.Name, g.Pattern, g.Tensors))];
    }

    static (string Name, string Pattern) GroupOf(string tensor)
    {
        var block = Regex.Match(tensor, @"^blk\.(\d+)\.(attn_|ffn_)", RegexOptions.CultureInvariant);
        if (block.Success)
        {
            var layer = block.Groups[1].Value;
            var kind = block.Groups[2].Value;
            return ($"blk.{layer}.{kind.TrimEnd('_')}", $@"^blk\.{layer}\.{kind}");
        }
        // A tensor on its own: its name, escaped, matched whole. Regex.Escape's escapes of the characters tensor
        // names use ('.', '-', '+') are valid ECMAScript, the grammar --tensor-type patterns are read with.
        var name = tensor.EndsWith(".weight", StringComparison.Ordinal) ? tensor[..^".weight".Length] : tensor;
        return (name, "^" + Regex.Escape(tensor) + "$");
    }
}
