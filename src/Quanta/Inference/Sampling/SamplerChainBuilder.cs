using Quanta.Inference.Sampling.Grammar;

namespace Quanta.Inference.Sampling;

/// <summary>
/// Builds the chain llama-cli builds from its parameters (<c>common_sampler_init</c>, common/sampling.cpp,
/// February 2025): logit bias; then, without mirostat, the filters in <see cref="SamplingParameters.Samplers"/>
/// order (by default penalties, DRY, top-k, typical, top-p, min-p, XTC, temperature with the dynamic range)
/// and the seeded draw; with mirostat 1 or 2, temperature and the
/// mirostat sampler. A temperature ≤ 0 leaves one finite logit, so the draw is greedy. A
/// <see cref="SamplingParameters.Grammar"/> becomes the chain's <see cref="SamplerChain.Grammar"/>, beside the
/// chain as <c>common_sampler_init</c> puts it.
/// </summary>
public static class SamplerChainBuilder
{
    /// <summary>
    /// The chain for <paramref name="parameters"/> over a vocabulary of <paramref name="vocabularySize"/>
    /// tokens; <paramref name="contextLength"/> resolves <c>repeat_last_n = -1</c>. DRY, when enabled, needs
    /// the <paramref name="vocabulary"/> for its breakers and works over the model's training context
    /// (<paramref name="trainingContextLength"/>, as llama-cli passes <c>llama_model_n_ctx_train</c>). A
    /// grammar needs the <paramref name="vocabulary"/> too, for each token's text and the end-of-generation
    /// tokens; a grammar that does not parse throws <see cref="GbnfFormatException"/>.
    /// </summary>
    public static SamplerChain Build(
        SamplingParameters parameters,
        int vocabularySize,
        int contextLength = 0,
        ISamplingVocabulary? vocabulary = null,
        int trainingContextLength = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var p = parameters;
        if (p.Mirostat is < 0 or > 2)
        {
            throw new ArgumentException($"mirostat must be 0, 1 or 2, not {p.Mirostat}", nameof(parameters));
        }
        var lastN = p.RepeatLastN;
        if (lastN == -1)
        {
            lastN = contextLength > 0
                ? contextLength
                : throw new ArgumentException("repeat_last_n -1 means the context size, which was not given", nameof(contextLength));
        }

        List<ISampler> samplers = [new LogitBiasSampler(p.LogitBias)];
        switch (p.Mirostat)
        {
            case 0:
                foreach (var stage in p.Samplers)
                {
                    samplers.Add(stage switch
                    {
                        SamplerStage.Penalties => new PenaltiesSampler(lastN, p.RepeatPenalty, p.FrequencyPenalty, p.PresencePenalty),
                        SamplerStage.Dry => CreateDry(p, vocabulary, trainingContextLength),
                        SamplerStage.TopK => new TopKSampler(p.TopK),
                        SamplerStage.TypicalP => new TypicalSampler(p.TypicalP, p.MinKeep),
                        SamplerStage.TopP => new TopPSampler(p.TopP, p.MinKeep),
                        SamplerStage.MinP => new MinPSampler(p.MinP, p.MinKeep),
                        SamplerStage.Xtc => new XtcSampler(p.XtcProbability, p.XtcThreshold, p.MinKeep, p.Seed),
                        SamplerStage.Temperature => new DynamicTemperatureSampler(p.Temperature, p.DynamicTemperatureRange, p.DynamicTemperatureExponent),
                        _ => throw new ArgumentException($"unknown sampler stage {stage}", nameof(parameters)),
                    });
                }
                samplers.Add(new DistSampler(p.Seed));
                break;
            case 1:
                samplers.Add(new TemperatureSampler(p.Temperature));
                samplers.Add(new MirostatSampler(vocabularySize, p.Seed, p.MirostatTau, p.MirostatEta, 100));
                break;
            default:
                samplers.Add(new TemperatureSampler(p.Temperature));
                samplers.Add(new MirostatV2Sampler(p.Seed, p.MirostatTau, p.MirostatEta));
                break;
        }
        return new SamplerChain(vocabularySize, samplers, CreateGrammar(p, vocabulary));
    }

    static GrammarSampler? CreateGrammar(SamplingParameters p, ISamplingVocabulary? vocabulary)
    {
        if (string.IsNullOrEmpty(p.Grammar))
        {
            return null;
        }
        if (vocabulary is null)
        {
            throw new ArgumentException("a grammar needs the vocabulary to match token texts", nameof(vocabulary));
        }
        return new GrammarSampler(p.Grammar, vocabulary, p.GrammarRoot);
    }

    static DrySampler CreateDry(SamplingParameters p, ISamplingVocabulary? vocabulary, int trainingContextLength)
    {
        var enabled = p.DryMultiplier != 0f && p.DryBase >= 1f && p.DryPenaltyLastN != 0;
        if (!enabled)
        {
            return new DrySampler(trainingContextLength, p.DryMultiplier, p.DryBase, p.DryAllowedLength, p.DryPenaltyLastN, DrySequenceBreakers.None);
        }
        if (vocabulary is null)
        {
            throw new ArgumentException("DRY needs the vocabulary to tokenize its sequence breakers", nameof(vocabulary));
        }
        if (trainingContextLength <= 0)
        {
            throw new ArgumentException("DRY needs the model's training context length", nameof(trainingContextLength));
        }
        var breakers = DrySequenceBreakers.FromStrings(vocabulary, p.DrySequenceBreakers);
        return new DrySampler(trainingContextLength, p.DryMultiplier, p.DryBase, p.DryAllowedLength, p.DryPenaltyLastN, breakers);
    }
}
