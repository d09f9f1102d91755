namespace Quanta.Inference.Sampling;

/// <summary>
/// One step of a sampler chain — llama.cpp's <c>llama_sampler</c> interface: <see cref="Apply"/> filters,
/// rescales or selects among the candidates; <see cref="Accept"/> tells it which token was finally chosen
/// (or fed as prompt), for samplers with a history; <see cref="Reset"/> forgets that history and re-seeds.
/// </summary>
public interface ISampler
{
    /// <summary>llama.cpp's name of the sampler (<c>top-k</c>, <c>dist</c>, ...).</summary>
    string Name { get; }

    /// <summary>Applies the sampler to the candidates.</summary>
    void Apply(TokenCandidates candidates);

    /// <summary>Records a token that became part of the sequence.</summary>
    void Accept(int token);

    /// <summary>Returns to the state right after construction (random seeds are drawn again).</summary>
    void Reset();
}
