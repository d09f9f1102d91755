namespace Quanta.Inference.Sampling;

/// <summary>
/// Adds a fixed bias to chosen tokens' logits (<c>llama_sampler_init_logit_bias</c>, llama-cli's
/// <c>--logit-bias</c>; −∞ bans a token). A token still at its own index is updated directly; the others
/// are searched for, each candidate taking the first matching bias, as llama.cpp does.
/// </summary>
public sealed class LogitBiasSampler : ISampler
{
    readonly (int Token, float Bias)[] biases;
    readonly (int Token, float Bias)[] toSearch;

    /// <summary>The biases, applied in the order given.</summary>
    public LogitBiasSampler(IEnumerable<KeyValuePair<int, float>> biases)
    {
        ArgumentNullException.ThrowIfNull(biases);
        this.biases = [.. biases.Select(b => (b.Key, b.Value))];
        toSearch = new (int, float)[this.biases.Length];
    }

    /// <inheritdoc/>
    public string Name => "logit-bias";

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        if (biases.Length == 0)
        {
            return;
        }
        var span = candidates.Span;
        var searchCount = 0;
        foreach (var (token, bias) in biases)
        {
            if (token >= 0 && token < span.Length && span[token].Id == token)
            {
                span[token].Logit += bias;
            }
            else
            {
                toSearch[searchCount++] = (token, bias);
            }
        }
        if (searchCount == 0)
        {
            return;
        }
        for (var i = 0; i < span.Length; i++)
        {
            for (var j = 0; j < searchCount; j++)
            {
                if (span[i].Id == toSearch[j].Token)
                {
                    span[i].Logit += toSearch[j].Bias;
                    break;
                }
            }
        }
    }

    /// <inheritdoc/>
    public void Accept(int token)
    {
    }

    /// <inheritdoc/>
    public void Reset()
    {
    }
}
