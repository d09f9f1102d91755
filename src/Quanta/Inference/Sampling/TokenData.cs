using System.Runtime.InteropServices;

namespace Quanta.Inference.Sampling;

/// <summary>
/// One candidate token: its id, its (possibly modified) logit and, once a sampler has computed it, its
/// probability — llama.cpp's <c>llama_token_data</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct TokenData(int id, float logit, float p)
{
    /// <summary>The token id in the vocabulary.</summary>
    public int Id = id;

    /// <summary>The logit, as the samplers before this point left it.</summary>
    public float Logit = logit;

    /// <summary>The probability, valid after a sampler that computes a softmax.</summary>
    public float P = p;

    /// <inheritdoc/>
    public override readonly string ToString() => $"{Id}: logit {Logit}, p {P}";
}
