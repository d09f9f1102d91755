namespace Quanta.Inference.Sampling;

/// <summary>
/// A sequence of samplers applied in order to one token's logits — llama.cpp's sampler chain, driven as
/// <c>common_sampler_sample</c> drives it: load the logits, apply every sampler, take the selected
/// candidate, accept it. The candidate buffer is allocated once, so sampling a token allocates nothing.
/// Build llama-cli's or Ollama's chain from parameters with <see cref="SamplerChainBuilder"/>.
/// </summary>
public sealed class SamplerChain
{
    readonly ISampler[] samplers;

    /// <summary>A chain over a vocabulary of <paramref name="vocabularySize"/> tokens.</summary>
    public SamplerChain(int vocabularySize, IEnumerable<ISampler> samplers)
    {
        ArgumentNullException.ThrowIfNull(samplers);
        this.samplers = [.. samplers];
        Candidates = new TokenCandidates(vocabularySize);
    }

    /// <summary>The samplers, in the order they run.</summary>
    public IReadOnlyList<ISampler> Samplers => samplers;

    /// <summary>The candidates as the last <see cref="Apply"/> or <see cref="Sample"/> left them.</summary>
    public TokenCandidates Candidates { get; }

    /// <summary>
    /// Chooses the next token from <paramref name="logits"/> (n_vocab floats) and accepts it into every
    /// sampler's history.
    /// </summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        Apply(logits);
        var token = Candidates.SelectedToken;
        Accept(token);
        return token;
    }

    /// <summary>Loads the logits and applies every sampler, without accepting a token.</summary>
    public void Apply(ReadOnlySpan<float> logits)
    {
        Candidates.Load(logits);
        foreach (var sampler in samplers)
        {
            sampler.Apply(Candidates);
        }
    }

    /// <summary>
    /// Records a token that became part of the sequence: a sampled one (done by <see cref="Sample"/>) or a
    /// prompt token, which llama-cli also feeds to the penalties.
    /// </summary>
    public void Accept(int token)
    {
        foreach (var sampler in samplers)
        {
            sampler.Accept(token);
        }
    }

    /// <summary>Forgets every sampler's history and re-seeds random samplers.</summary>
    public void Reset()
    {
        foreach (var sampler in samplers)
        {
            sampler.Reset();
        }
    }
}
