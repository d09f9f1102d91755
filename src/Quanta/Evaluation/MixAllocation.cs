namespace Quanta.Evaluation;

/// <summary>One choice for a group: the bytes its tensors take in a type, and the KL divergence measured with only them in it.</summary>
public readonly record struct AllocationOption(long Bytes, double Cost);

/// <summary>
/// The multiple-choice knapsack <c>quanta optimize</c> solves: one option per group, the sum of their costs (the
/// predicted KL divergence: each group's measured alone, added) as small as possible, the sum of their bytes
/// within a capacity. Solved exactly by dynamic programming over the capacity cut into at most
/// <see cref="Steps"/> units; each option's bytes are rounded up to whole units, so a solution never exceeds the
/// capacity (it may leave up to a unit per group unused).
/// </summary>
public static class MixAllocation
{
    /// <summary>Units the capacity is cut into: fine enough to lose under 0.01 % of it per group.</summary>
    public const int Steps = 20000;

    /// <summary>
    /// The index of the chosen option of each group, or null when even the smallest options exceed
    /// <paramref name="capacity"/>. Ties go to the smaller total, then to earlier options.
    /// </summary>
    public static int[]? Solve(IReadOnlyList<IReadOnlyList<AllocationOption>> groups, long capacity)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (groups.Any(g => g.Count == 0))
        {
            throw new ArgumentException("every group needs at least one option", nameof(groups));
        }
        // Bytes above each group's smallest option: what the capacity left after the smallest ones pays for.
        var floor = groups.Select(g => g.Min(o => o.Bytes)).ToArray();
        var spare = capacity - floor.Sum();
        if (spare < 0)
        {
            return null;
        }
        var unit = Math.Max(1, (spare + Steps - 1) / Steps);
        var size = (int)(spare / unit);
        var best = new double[size + 1];
        var choices = new byte[groups.Count][];
        var next = new double[size + 1];
        for (var g = 0; g < groups.Count; g++)
        {
            var options = groups[g];
            var units = options.Select(o => (int)Math.Min(size + 1L, (o.Bytes - floor[g] + unit - 1) / unit)).ToArray();
            var choice = choices[g] = new byte[size + 1];
            for (var j = 0; j <= size; j++)
            {
                var value = double.PositiveInfinity;
                for (var k = 0; k < options.Count; k++)
                {
                    if (units[k] <= j && best[j - units[k]] + options[k].Cost is var candidate && candidate < value)
                    {
                        value = candidate;
                        choice[j] = (byte)k;
                    }
                }
                next[j] = value;
            }
            (best, next) = (next, best);
        }
        // Walk back from the smallest capacity that reaches the best value.
        var at = size;
        while (at > 0 && best[at - 1] <= best[at])
        {
            at--;
        }
        var picked = new int[groups.Count];
        for (var g = groups.Count - 1; g >= 0; g--)
        {
            var k = choices[g][at];
            picked[g] = k;
            at -= (int)Math.Min(size + 1L, (groups[g][k].Bytes - floor[g] + unit - 1) / unit);
        }
        return picked;
    }
}
