using Quanta.Inference.Kernels;

namespace Quanta.Inference.Models;

/// <summary>Every buffer of a forward pass, for batches of up to <see cref="Tokens"/> tokens.</summary>
internal sealed class Workspace(TransformerHyperparameters hp, int tokens)
{
    public int Tokens { get; } = tokens;

    public float[] X { get; } = new float[tokens * hp.EmbeddingLength];

    public float[] Cur { get; } = new float[tokens * hp.EmbeddingLength];

    public float[] Q { get; } = new float[tokens * hp.HeadCount * hp.KeyLength];

    public float[] K { get; } = new float[tokens * hp.KvHeadCount * hp.KeyLength];

    public float[] V { get; } = new float[tokens * hp.KvHeadCount * hp.ValueLength];

    /// <summary>A fused QKV projection's output (phi3), split into <see cref="Q"/>, <see cref="K"/>, <see cref="V"/>.</summary>
    public float[] Qkv { get; } = new float[tokens * (hp.HeadCount * hp.KeyLength + hp.KvHeadCount * (hp.KeyLength + hp.ValueLength))];

    public float[] AttentionOutput { get; } = new float[tokens * hp.HeadCount * hp.ValueLength];

    /// <summary>One sequence's queries of a batch that mixes sequences, attended to on their own (<see cref="AttentionHeads"/> reads from index 0).</summary>
    public float[] RunQuery { get; } = new float[tokens * hp.HeadCount * hp.KeyLength];

    /// <summary>That sequence's attention output, copied back into <see cref="AttentionOutput"/>.</summary>
    public float[] RunAttentionOutput { get; } = new float[tokens * hp.HeadCount * hp.ValueLength];

    public float[] Gate { get; } = new float[tokens * hp.FeedForwardLength];

    /// <summary>Twice the feed-forward width: phi3's fused gate|up rows land here.</summary>
    public float[] Up { get; } = new float[tokens * 2 * hp.FeedForwardLength];

    public float[] CosSin { get; } = new float[tokens * hp.RopeDimensions];

    public MixtureOfExperts.Scratch Experts { get; } = new();
}
