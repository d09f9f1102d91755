namespace Quanta.Evaluation;

/// <summary>The candidates no other candidate beats on both size and mean KL divergence: the choices worth making.</summary>
public static class ParetoFront
{
    /// <summary>The indices of <paramref name="candidates"/> on the front, smallest first.</summary>
    public static IReadOnlyList<int> Of(IReadOnlyList<CandidateResult> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var front = new List<int>();
        var best = double.PositiveInfinity;
        // By size, then KLD: walking up in size, a candidate is on the front when it is better than every smaller one.
        foreach (var i in Enumerable.Range(0, candidates.Count).OrderBy(i => candidates[i].File.Size).ThenBy(i => candidates[i].MeanKlDivergence))
        {
            if (candidates[i].MeanKlDivergence < best)
            {
                front.Add(i);
                best = candidates[i].MeanKlDivergence;
            }
        }
        return front;
    }
}
