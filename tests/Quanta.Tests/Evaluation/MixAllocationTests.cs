using Quanta.Evaluation;

namespace Quanta.Tests.Evaluation;

/// <summary><see cref="MixAllocation"/>: the knapsack's answer is the exhaustive search's, within the capacity.</summary>
public sealed class MixAllocationTests
{
    [Fact]
    public void A_small_case_takes_the_bits_where_they_buy_the_most()
    {
        // Group 0 gains 0.9 for 10 more bytes, group 1 only 0.1: with 10 spare bytes, group 0 gets them.
        IReadOnlyList<AllocationOption>[] groups =
        [
            [new(10, 1.0), new(20, 0.1)],
            [new(10, 0.2), new(20, 0.1)],
        ];
        Assert.Equal([1, 0], MixAllocation.Solve(groups, 30)!);
        Assert.Equal([1, 1], MixAllocation.Solve(groups, 40)!);
        Assert.Equal([0, 0], MixAllocation.Solve(groups, 29)!);
        Assert.Null(MixAllocation.Solve(groups, 19));
    }

    [Fact]
    public void Random_cases_match_the_exhaustive_search()
    {
        var random = new Random(14);
        for (var trial = 0; trial < 200; trial++)
        {
            var groupCount = random.Next(1, 6);
            var groups = new IReadOnlyList<AllocationOption>[groupCount];
            for (var g = 0; g < groupCount; g++)
            {
                groups[g] = [.. Enumerable.Range(0, random.Next(1, 5)).Select(_ => new AllocationOption(random.Next(1, 1000), random.NextDouble()))];
            }
            var capacity = (long)random.Next(0, 3000);
            var best = double.PositiveInfinity;
            foreach (var pick in Picks(groups))
            {
                if (pick.Select((k, g) => groups[g][k].Bytes).Sum() <= capacity)
                {
                    best = Math.Min(best, pick.Select((k, g) => groups[g][k].Cost).Sum());
                }
            }
            var solved = MixAllocation.Solve(groups, capacity);
            if (double.IsPositiveInfinity(best))
            {
                Assert.Null(solved);
                continue;
            }
            Assert.NotNull(solved);
            Assert.True(solved.Select((k, g) => groups[g][k].Bytes).Sum() <= capacity, $"trial {trial}: over the capacity");
            // Capacities under Steps units are solved at byte resolution, so the optimum is exact.
            Assert.Equal(best, solved.Select((k, g) => groups[g][k].Cost).Sum(), 12);
        }
    }

    static IEnumerable<int[]> Picks(IReadOnlyList<AllocationOption>[] groups)
    {
        var pick = new int[groups.Length];
        while (true)
        {
            yield return [.. pick];
            var g = 0;
            while (g < groups.Length && ++pick[g] == groups[g].Count)
            {
                pick[g++] = 0;
            }
            if (g == groups.Length)
            {
                yield break;
            }
        }
    }
}
