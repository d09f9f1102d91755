using System.Globalization;
using System.Text;
using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>One shard of a <see cref="ShardPlan"/>: a run of consecutive plan entries.</summary>
/// <param name="Number">1-based, as in the file name <c>OUT-0000I-of-0000N.gguf</c>.</param>
/// <param name="FirstEntry">Index of the first plan entry it holds.</param>
/// <param name="EntryCount">How many consecutive entries it holds.</param>
/// <param name="Cost">Estimated single-thread nanoseconds (<see cref="EncodingCost"/>).</param>
/// <param name="SourceBytes">Input tensor bytes the shard's task reads.</param>
/// <param name="TargetBytes">Tensor bytes the shard holds.</param>
public sealed record PlannedShard(int Number, int FirstEntry, int EntryCount, long Cost, long SourceBytes, long TargetBytes);

/// <summary>
/// How <c>--shards N</c> cuts a plan into N shards: consecutive runs of tensors (so that the set reads back in
/// the plan's order, as gguf-split writes it) whose largest estimated encoding cost is as small as it can be.
/// A function of the plan alone, which is a function of the input's header and the options: every task of a
/// batch job computes the same cut without talking to the others.
/// </summary>
public sealed class ShardPlan
{
    ShardPlan(IReadOnlyList<PlannedShard> shards) => Shards = shards;

    public IReadOnlyList<PlannedShard> Shards { get; }

    public int Count => Shards.Count;

    /// <summary>The estimated cost of the slowest shard: the wall time of the whole set when every shard runs at once.</summary>
    public long MaxCost => Shards.Max(s => s.Cost);

    /// <summary>The estimated cost of all shards together: the wall time on one machine.</summary>
    public long TotalCost => Shards.Sum(s => s.Cost);

    /// <summary>
    /// Cuts <paramref name="plan"/> into <paramref name="count"/> non-empty runs minimising the largest run's cost:
    /// the smallest feasible maximum is found by bisection (a greedy walk decides feasibility), then the runs are
    /// cut greedily under it, each leaving at least one tensor for every shard after it.
    /// </summary>
    /// <exception cref="QuantizationException">Fewer tensors than shards, or more shards than split.count can hold.</exception>
    public static ShardPlan Create(QuantizationPlan plan, int count)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var entries = plan.Entries;
        if (count < 1)
        {
            throw new QuantizationException($"the number of shards must be at least 1, not {count}");
        }
        if (count > ushort.MaxValue)
        {
            throw new QuantizationException($"{count} shards: split.count is a u16, so 65535 is the most");
        }
        if (count > entries.Count)
        {
            throw new QuantizationException($"{count} shards for {entries.Count} tensors: every shard needs at least one tensor");
        }
        var costs = entries.Select(EncodingCost.Of).ToArray();
        long low = costs.Max(), high = costs.Sum();
        while (low < high)
        {
            var mid = low + (high - low) / 2;
            if (RunsUnder(costs, mid) <= count)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }

        var shards = new List<PlannedShard>(count);
        var first = 0;
        for (var number = 1; number <= count; number++)
        {
            var end = first + 1;
            long cost = costs[first];
            var mustLeave = count - number;
            while (end < costs.Length && entries.Count - end > mustLeave && cost + costs[end] <= low)
            {
                cost += costs[end++];
            }
            if (number == count)
            {
                end = costs.Length;
            }
            var run = entries.Skip(first).Take(end - first).ToArray();
            shards.Add(new PlannedShard(number, first, end - first, costs.Skip(first).Take(end - first).Sum(), run.Sum(e => e.SourceBytes), run.Sum(e => e.TargetBytes)));
            first = end;
        }
        return new ShardPlan(shards);
    }

    /// <summary>How many runs a greedy walk needs when no run may cost more than <paramref name="limit"/>.</summary>
    static int RunsUnder(long[] costs, long limit)
    {
        var runs = 1;
        long current = 0;
        foreach (var cost in costs)
        {
            if (current + cost > limit)
            {
                runs++;
                current = 0;
            }
            current += cost;
        }
        return runs;
    }

    /// <summary>
    /// The plan as <c>--dry-run --shards N</c> prints it: one line per shard with its file name, tensors, bytes
    /// and share of the estimated work, then the expected speed-up over one task.
    /// </summary>
    public string ToTable(QuantizationPlan plan, string prefix)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var culture = CultureInfo.InvariantCulture;
        var names = Shards.Select(s => Path.GetFileName(GgufSplitNames.ShardPath(prefix, s.Number, Count))).ToArray();
        var nameWidth = Math.Max(4, names.Max(n => n.Length));
        var text = new StringBuilder();
        text.Append(culture, $"{"shard",5}  {"file".PadRight(nameWidth)}  {"tensors",7}  {"MiB in",10}  {"MiB out",10}  {"work",6}  first .. last tensor").AppendLine();
        var total = Math.Max(1, TotalCost);
        foreach (var s in Shards)
        {
            var firstName = plan.Entries[s.FirstEntry].Name;
            var lastName = plan.Entries[s.FirstEntry + s.EntryCount - 1].Name;
            text.Append(culture,
                $"{s.Number,5}  {names[s.Number - 1].PadRight(nameWidth)}  {s.EntryCount,7}  {Mib(s.SourceBytes),10:F2}  {Mib(s.TargetBytes),10:F2}  {100.0 * s.Cost / total,5:F1}%  {firstName} .. {lastName}").AppendLine();
        }
        text.Append(culture, $"{Count} shards; the largest holds {100.0 * MaxCost / total:F1}% of the estimated work: {(double)TotalCost / Math.Max(1, MaxCost):F2}x faster than one task when all run at once").AppendLine();
        return text.ToString();
    }

    static double Mib(long bytes) => bytes / 1024.0 / 1024.0;
}
