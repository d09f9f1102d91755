namespace Quanta.Inference.Sampling;

/// <summary>
/// Work buffers sized to the vocabulary once, for the samplers that need a second array (llama.cpp
/// allocates a vector per call): the top-k bucket pass, min-p's filtered copy, typical's scores and
/// order, and the cumulative table of the discrete distribution. Samplers run one after another, so one
/// set serves a whole chain.
/// </summary>
internal sealed class SamplingScratch(int vocabularySize)
{
    public const int BucketCount = 128;

    public TokenData[] Tokens { get; } = new TokenData[vocabularySize];

    public int[] Indices { get; } = new int[vocabularySize];

    public float[] Scores { get; } = new float[vocabularySize];

    public double[] Cumulative { get; } = new double[vocabularySize];

    public int[] Histogram { get; } = new int[BucketCount];

    public int[] BucketFill { get; } = new int[BucketCount];
}
