using Quanta.Inference.Sampling.Grammar;

namespace Quanta.Inference.Sampling;

/// <summary>
/// A sequence of samplers applied in order to one token's logits — llama.cpp's sampler chain, driven as
/// <c>common_sampler_sample</c> drives it: load the logits, apply every sampler, take the selected
/// candidate, accept it. The candidate buffer is allocated once, so sampling a token allocates nothing.
/// Build llama-cli's or Ollama's chain from parameters with <see cref="SamplerChainBuilder"/>.
/// A <see cref="Grammar"/> sampler stands beside the chain, as llama.cpp's <c>common_sampler</c> keeps
/// its <c>grmr</c> apart: <see cref="Sample"/> lets the chain choose, and only when the grammar refuses
/// that token applies the grammar and then the chain again to the fresh logits.
/// </summary>
public sealed class SamplerChain
{
    readonly ISampler[] samplers;

    /// <summary>A chain over a vocabulary of <paramref name="vocabularySize"/> tokens.</summary>
    public SamplerChain(int vocabularySize, IEnumerable<ISampler> samplers, GrammarSampler? grammar = null)
    {
        ArgumentNullException.ThrowIfNull(samplers);
        this.samplers = [.. samplers];
        Candidates = new TokenCandidates(vocabularySize);
        Grammar = grammar;
    }

    /// <summary>The grammar the sampled tokens must follow, or null (llama.cpp's <c>common_sampler.grmr</c>).</summary>
    public GrammarSampler? Grammar { get; }

    /// <summary>The samplers, in the order they run.</summary>
    public IReadOnlyList<ISampler> Samplers => samplers;

    /// <summary>The candidates as the last <see cref="Apply"/> or <see cref="Sample"/> left them.</summary>
    public TokenCandidates Candidates { get; }

    /// <summary>
    /// Chooses the next token from <paramref name="logits"/> (n_vocab floats) and accepts it into every
    /// sampler's history and the grammar. With a grammar this is <c>common_sampler_sample</c> with
    /// <c>grammar_first = false</c>: when the grammar refuses the chain's choice, the logits are loaded again,
    /// the grammar masks them and the chain chooses again (its random samplers draw a second time).
    /// </summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        Apply(logits);
        var token = Candidates.SelectedToken;
        if (Grammar is not null && !Grammar.Allows(token))
        {
            Candidates.Load(logits);
            Grammar.Apply(Candidates);
            ApplySamplers();
            token = Candidates.SelectedToken;
        }
        Accept(token, acceptGrammar: true);
        return token;
    }

    /// <summary>Loads the logits and applies every sampler of the chain (not the grammar), without accepting a token.</summary>
    public void Apply(ReadOnlySpan<float> logits)
    {
        Candidates.Load(logits);
        ApplySamplers();
    }

    void ApplySamplers()
    {
        foreach (var sampler in samplers)
        {
            sampler.Apply(Candidates);
        }
    }

    /// <summary>
    /// Records a token that became part of the sequence: a sampled one (done by <see cref="Sample"/>) or a
    /// prompt token, which llama-cli also feeds to the penalties. The grammar is not advanced: llama-cli
    /// accepts prompt tokens with <c>accept_grammar = false</c>.
    /// </summary>
    public void Accept(int token) => Accept(token, acceptGrammar: false);

    /// <summary>
    /// Records a token into every sampler's history and, when <paramref name="acceptGrammar"/>, advances
    /// the grammar over it (<c>common_sampler_accept</c>).
    /// </summary>
    public void Accept(int token, bool acceptGrammar)
    {
        if (acceptGrammar)
        {
            Grammar?.Accept(token);
        }
        foreach (var sampler in samplers)
        {
            sampler.Accept(token);
        }
    }

    /// <summary>Forgets every sampler's history, re-seeds random samplers and restarts the grammar.</summary>
    public void Reset()
    {
        Grammar?.Reset();
        foreach (var sampler in samplers)
        {
            sampler.Reset();
        }
    }
}
