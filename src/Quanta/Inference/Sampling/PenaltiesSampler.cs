namespace Quanta.Inference.Sampling;

/// <summary>
/// Repetition penalties over the last <c>lastN</c> accepted tokens (<c>llama_sampler_init_penalties</c>):
/// a token seen <c>c</c> times has its logit divided by <c>repeat</c> (multiplied when ≤ 0), then lowered by
/// <c>c · frequency + presence</c>. lastN 0, or repeat 1 with no frequency or presence penalty, does
/// nothing. The counts are kept incrementally, as llama.cpp does, so a token costs no scan of the window.
/// </summary>
public sealed class PenaltiesSampler : ISampler
{
    readonly int[] window;
    readonly Dictionary<int, int> counts;
    int first;
    int next;
    int size;

    /// <summary>Penalties over the last <paramref name="lastN"/> tokens (negative counts as 0).</summary>
    public PenaltiesSampler(int lastN, float repeat, float frequency, float presence)
    {
        LastN = Math.Max(lastN, 0);
        Repeat = repeat;
        Frequency = frequency;
        Presence = presence;
        window = new int[LastN];
        counts = new Dictionary<int, int>(LastN);
    }

    /// <summary>How many recent tokens are penalised.</summary>
    public int LastN { get; }

    /// <summary>The repeat penalty (1 = none).</summary>
    public float Repeat { get; }

    /// <summary>The penalty per occurrence.</summary>
    public float Frequency { get; }

    /// <summary>The penalty for occurring at all.</summary>
    public float Presence { get; }

    /// <inheritdoc/>
    public string Name => "penalties";

    /// <inheritdoc/>
    public void Accept(int token)
    {
        if (LastN == 0)
        {
            return;
        }
        counts[token] = counts.GetValueOrDefault(token) + 1;
        if (size == LastN)
        {
            // The window is full: the oldest token leaves it.
            var oldest = window[first];
            var left = counts[oldest] - 1;
            if (left == 0)
            {
                counts.Remove(oldest);
            }
            else
            {
                counts[oldest] = left;
            }
            first = (first + 1) % LastN;
        }
        else
        {
            size++;
        }
        window[next] = token;
        next = (next + 1) % LastN;
    }

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        if (LastN == 0 || (Repeat == 1f && Frequency == 0f && Presence == 0f))
        {
            return;
        }
        var span = candidates.Span;
        for (var i = 0; i < span.Length; i++)
        {
            if (!counts.TryGetValue(span[i].Id, out var count))
            {
                continue;
            }
            // Dividing a negative logit would make the token more likely, so it is multiplied instead.
            if (span[i].Logit <= 0)
            {
                span[i].Logit *= Repeat;
            }
            else
            {
                span[i].Logit /= Repeat;
            }
            span[i].Logit -= (count * Frequency) + ((count > 0 ? 1f : 0f) * Presence);
        }
        candidates.Sorted = false;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        first = 0;
        next = 0;
        size = 0;
        counts.Clear();
    }
}
