namespace Quanta.Inference.Sampling;

/// <summary>
/// DRY, "Don't Repeat Yourself" (<c>llama_sampler_init_dry</c>, ported by llama.cpp from koboldcpp): a token
/// that would extend a sequence already repeated in the last <c>penaltyLastN</c> tokens (−1: the context
/// size) loses <c>multiplier · base^(length − allowedLength)</c> from its logit; repetitions do not reach
/// across a sequence breaker. Disabled when the multiplier is 0, the base below 1 or penaltyLastN 0.
/// </summary>
public sealed class DrySampler : ISampler
{
    /// <summary>log(FLT_MAX), the exponent bound that keeps <c>pow(base, exponent)</c> finite.</summary>
    const float FloatMaxLog = 88.7228391f;

    readonly int contextSize;
    readonly DrySequenceBreakers breakers;
    readonly int[] history;
    readonly int[] repeatCount;
    readonly Dictionary<int, int> maxRepeatByToken;
    int first;
    int next;
    int size;

    /// <summary>
    /// DRY over a context of <paramref name="contextSize"/> tokens (llama-cli passes the model's training
    /// context) with the given breakers.
    /// </summary>
    public DrySampler(int contextSize, float multiplier, float @base, int allowedLength, int penaltyLastN, DrySequenceBreakers breakers)
    {
        ArgumentNullException.ThrowIfNull(breakers);
        this.contextSize = contextSize;
        Multiplier = multiplier;
        Base = @base;
        AllowedLength = allowedLength;
        PenaltyLastN = penaltyLastN;
        var window = penaltyLastN == -1 ? contextSize : Math.Max(penaltyLastN, 0);
        this.breakers = Enabled ? breakers : DrySequenceBreakers.None;
        history = new int[Enabled ? window : 0];
        repeatCount = new int[history.Length];
        // Sized so that steady-state sampling does not grow it: at most one entry per window position.
        maxRepeatByToken = new Dictionary<int, int>(Math.Min(history.Length, 1024));
    }

    /// <summary>The penalty scale.</summary>
    public float Multiplier { get; }

    /// <summary>The growth of the penalty per extra repeated token.</summary>
    public float Base { get; }

    /// <summary>The longest repetition left unpenalised.</summary>
    public int AllowedLength { get; }

    /// <summary>How many recent tokens are searched (−1: the context size; 0: off).</summary>
    public int PenaltyLastN { get; }

    bool Enabled => Multiplier != 0f && Base >= 1f && PenaltyLastN != 0;

    /// <inheritdoc/>
    public string Name => "dry";

    /// <inheritdoc/>
    public void Accept(int token)
    {
        if (!Enabled || history.Length == 0)
        {
            return;
        }
        if (size == history.Length)
        {
            first = (first + 1) % history.Length;
        }
        else
        {
            size++;
        }
        history[next] = token;
        next = (next + 1) % history.Length;
    }

    /// <summary>The <paramref name="i"/>-th most recent token (ring_buffer::rat).</summary>
    int Recent(int i) => history[(first + size - i - 1) % history.Length];

    /// <inheritdoc/>
    public void Apply(TokenCandidates candidates)
    {
        if (!Enabled)
        {
            return;
        }
        var effectiveLastN = PenaltyLastN == -1 ? contextSize : Math.Max(PenaltyLastN, 0);
        var lastN = Math.Min(Math.Min(size, effectiveLastN), contextSize);
        // (a window of 0 tokens keeps no history, so size is 0 here)
        if (lastN <= AllowedLength)
        {
            return;
        }
        var counts = repeatCount.AsSpan(0, lastN);
        counts.Clear();
        maxRepeatByToken.Clear();

        // Step 1: the most recent sequence breaker limits how far back a repetition may reach.
        var repeatLimit = lastN;
        for (var i = 0; i < lastN; i++)
        {
            if (!breakers.TailsByHead.TryGetValue(Recent(i), out var tails))
            {
                continue;
            }
            var longest = -1;
            foreach (var tail in tails)
            {
                var length = tail.Length;
                if (length > longest && length <= i)
                {
                    var match = true;
                    for (var offset = 0; offset < length; offset++)
                    {
                        if (tail[offset] != Recent(i - offset - 1))
                        {
                            match = false;
                            break;
                        }
                    }
                    if (match)
                    {
                        longest = length;
                    }
                }
            }
            if (longest >= 0)
            {
                repeatLimit = i - longest;
                break;
            }
        }
        if (repeatLimit < AllowedLength)
        {
            return;
        }

        // Step 2: the Z-algorithm backwards over the window: counts[last - k] is the length of the suffix
        // that also ends k tokens earlier.
        var last = lastN - 1;
        var right = 0;
        var left = 0;
        for (var k = 1; k < lastN; k++)
        {
            if (k > right)
            {
                var n = 0;
                while (n + k < lastN && Recent(n) == Recent(n + k))
                {
                    ++n;
                }
                counts[last - k] = Math.Min(n, repeatLimit);
                if (n > 0)
                {
                    left = k;
                    right = k + n - 1;
                }
            }
            else
            {
                var pair = k - left;
                var rightPartLength = right - k + 1;
                if (counts[last - pair] < rightPartLength)
                {
                    counts[last - k] = Math.Min(counts[last - pair], repeatLimit);
                }
                else
                {
                    var i = right + 1;
                    while (i < lastN && Recent(i) == Recent(i - k))
                    {
                        i += 1;
                    }
                    counts[last - k] = Math.Min(i - k, repeatLimit);
                    left = k;
                    right = i - 1;
                }
            }
        }

        // Step 3: the token after each repeated sequence would extend it; keep the longest per token.
        for (var i = 0; i < lastN - 1; i++)
        {
            var length = counts[i];
            if (length >= AllowedLength)
            {
                var token = Recent(lastN - 2 - i);
                if (!maxRepeatByToken.TryGetValue(token, out var longest) || longest < length)
                {
                    maxRepeatByToken[token] = length;
                }
            }
        }

        // Step 4: penalise, except tokens that are a whole breaker by themselves.
        var maxExponent = 0;
        if (Base > 1.000001f)
        {
            maxExponent = (int)(FloatMaxLog / MathF.Log(Base));
        }
        var span = candidates.Span;
        for (var i = 0; i < span.Length; i++)
        {
            if (!maxRepeatByToken.TryGetValue(span[i].Id, out var length))
            {
                continue;
            }
            if (IsSingleTokenBreaker(span[i].Id))
            {
                continue;
            }
            var exponent = length - AllowedLength;
            if (maxExponent > 0 && exponent > maxExponent)
            {
                exponent = maxExponent;
            }
            // std::pow(float, int) computes in double.
            span[i].Logit -= (float)(Multiplier * Math.Pow(Base, exponent));
        }
        candidates.Sorted = false;
    }

    bool IsSingleTokenBreaker(int token)
    {
        if (breakers.TailsByHead.TryGetValue(token, out var tails))
        {
            foreach (var tail in tails)
            {
                if (tail.Length == 0)
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <inheritdoc/>
    public void Reset()
    {
        first = 0;
        next = 0;
        size = 0;
        maxRepeatByToken.Clear();
    }
}
