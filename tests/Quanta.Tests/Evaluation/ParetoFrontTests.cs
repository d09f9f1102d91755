using Quanta.Evaluation;

namespace Quanta.Tests.Evaluation;

public sealed class ParetoFrontTests
{
    static CandidateResult Candidate(long size, double kld) =>
        new(new ModelFileFacts($"m{size}", size, 0), 0, 1, kld, 0, 1, 0, null);

    [Fact]
    public void Only_candidates_beaten_on_neither_size_nor_kld_are_on_the_front()
    {
        // 300/0.5 is beaten by 200/0.4 (smaller and better); 100/0.9, 200/0.4 and 400/0.1 are not beaten.
        CandidateResult[] candidates = [Candidate(400, 0.1), Candidate(300, 0.5), Candidate(100, 0.9), Candidate(200, 0.4), Candidate(500, 0.2)];
        Assert.Equal([2, 3, 0], ParetoFront.Of(candidates));
    }
}
