using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Models;

/// <summary>
/// A routed feed-forward as llama.cpp's <c>llm_build_moe_ffn</c> builds it for llama (Mixtral) and qwen2moe: router
/// logits (<c>ffn_gate_inp</c>), their softmax (<c>ggml_vec_soft_max_f32</c>), the top-k experts by
/// <c>ggml_argsort</c> (descending), the chosen probabilities (llama: renormalised by their sum), each chosen expert's
/// SwiGLU (<c>ffn_{gate,up,down}_exps</c>, one <c>[columns, rows, experts]</c> tensor each, read in place expert by
/// expert), and the experts' outputs times their weights added in rank order. qwen2moe adds a shared expert
/// (<c>ffn_{gate,up,down}_shexp</c>) whose output is scaled by <c>sigmoid(ffn_gate_inp_shexp·x)</c> (computed as
/// llama.cpp does, <c>silu(s)/s</c>). Tokens are grouped by expert so each expert's rows are read once per batch.
/// The softmax and the SiLU are ggml's vectorised ones (<see cref="VectorExp"/>), not libm's <c>expf</c>: their
/// last-bit differences, through a Q8_K activation scale that rounds the other way in the next layer, moved a
/// Q4_K_M model's logits by 6e-3.
/// </summary>
internal sealed class MixtureOfExperts
{
    /// <summary>Stands in for the caller's observer while the per-expert multiplications run.</summary>
    sealed class SilentObserver : IActivationObserver
    {
        public static readonly SilentObserver Instance = new();

        public void Observe(string weightName, ReadOnlySpan<float> activations, int tokens, int columns)
        {
        }
    }

    readonly LinearWeights _router;
    readonly LinearWeights[] _gate;
    readonly LinearWeights[] _up;
    readonly LinearWeights[] _down;
    readonly int _used;
    readonly int _feedForward;
    readonly bool _normalize;
    readonly SharedExpert? _shared;
    readonly string[] _expertTensorNames;

    MixtureOfExperts(LinearWeights router, LinearWeights[] gate, LinearWeights[] up, LinearWeights[] down, int used, int feedForward, bool normalize, SharedExpert? shared, string[] expertTensorNames)
    {
        _expertTensorNames = expertTensorNames;
        _normalize = normalize;
        _shared = shared;
        _router = router;
        _gate = gate;
        _up = up;
        _down = down;
        _used = used;
        _feedForward = feedForward;
    }

    public int ExpertCount => _gate.Length;

    public int FeedForwardLength => _feedForward;

    public int ExpertsUsed => _used;

    /// <summary>The widest feed-forward of a token: a routed expert's or the shared one's.</summary>
    public int ScratchFeedForwardLength => Math.Max(_feedForward, _shared?.Gate.Rows ?? 0);

    /// <summary>
    /// qwen2moe's always-on expert: its SwiGLU matrices and the vector whose dot with the input, through a sigmoid,
    /// scales its output.
    /// </summary>
    internal sealed record SharedExpert(float[] GateInput, LinearWeights Gate, LinearWeights Up, LinearWeights Down);

    /// <summary>
    /// The experts of block <paramref name="layer"/>: llama's (weights renormalised, experts as wide as
    /// <c>feed_forward_length</c>) or, with <paramref name="qwen2Moe"/>, qwen2moe's (weights as the softmax gives them,
    /// <c>expert_feed_forward_length</c> or <c>feed_forward_length / expert_used_count</c> wide, and a shared expert
    /// <c>expert_shared_feed_forward_length</c> or <c>feed_forward_length</c> wide).
    /// </summary>
    public static MixtureOfExperts Load(ModelTensors tensors, TransformerHyperparameters hp, int layer, bool qwen2Moe = false)
    {
        var arch = hp.Architecture;
        var n = hp.ExpertCount;
        if (hp.ExpertUsedCount <= 0 || hp.ExpertUsedCount > n)
        {
            throw new GgufFormatException($"{arch}.expert_used_count ({hp.ExpertUsedCount}) should be between 1 and {arch}.expert_count ({n})");
        }
        var e = hp.EmbeddingLength;
        var metadata = tensors.File.Metadata;
        var ff = TransformerHyperparameters.OptionalInt(metadata, $"{arch}.expert_feed_forward_length") is { } expertLength and > 0
            ? expertLength
            : qwen2Moe ? hp.FeedForwardLength / hp.ExpertUsedCount : hp.FeedForwardLength;
        string Name(string part) => $"blk.{layer}.{part}.weight";
        var router = tensors.Matrix(Name("ffn_gate_inp"), e, n);
        var gate = tensors.Require(Name("ffn_gate_exps"), e, ff, n);
        var up = tensors.Require(Name("ffn_up_exps"), e, ff, n);
        var down = tensors.Require(Name("ffn_down_exps"), ff, e, n);
        LinearWeights[] Experts(GgufTensor t) => [.. Enumerable.Range(0, n).Select(i => ModelTensors.Expert(t, i))];
        SharedExpert? shared = null;
        if (qwen2Moe)
        {
            var sharedLength = TransformerHyperparameters.OptionalInt(metadata, $"{arch}.expert_shared_feed_forward_length") is { } s and > 0 ? s : hp.FeedForwardLength;
            shared = new SharedExpert(
                tensors.Vector(Name("ffn_gate_inp_shexp"), e),
                tensors.Matrix(Name("ffn_gate_shexp"), e, sharedLength),
                tensors.Matrix(Name("ffn_up_shexp"), e, sharedLength),
                tensors.Matrix(Name("ffn_down_shexp"), sharedLength, e));
        }
        return new MixtureOfExperts(router, Experts(gate), Experts(up), Experts(down), hp.ExpertUsedCount, ff, normalize: !qwen2Moe, shared, [gate.Name, up.Name, down.Name]);
    }

    /// <summary>
    /// <paramref name="output"/> (<c>tokens × n_embd</c>) = the routed feed-forward of <paramref name="input"/>.
    /// </summary>
    public void Forward(MatMul matMul, float[] input, int tokens, int embedding, float[] output, Scratch scratch, KernelWidth width)
    {
        scratch.Ensure(tokens, embedding, this);
        var experts = ExpertCount;
        RouterLogits(matMul, input.AsSpan(0, tokens * embedding), tokens, embedding, scratch.RouterLogits, width);
        for (var t = 0; t < tokens; t++)
        {
            var probabilities = scratch.RouterLogits.AsSpan(t * experts, experts);
            VectorExp.Softmax(probabilities, width);
            var chosen = scratch.Chosen.AsSpan(t * _used, _used);
            TopK(probabilities, scratch.Order, chosen);
            var weights = scratch.Weights.AsSpan(t * _used, _used);
            double sum = 0;
            for (var s = 0; s < _used; s++)
            {
                weights[s] = probabilities[chosen[s]];
                sum += weights[s];
            }
            if (_normalize)
            {
                // ggml_sum_rows (summed in double, rounded once) then ggml_div.
                var total = (float)sum;
                for (var s = 0; s < _used; s++)
                {
                    weights[s] /= total;
                }
            }
        }
        var observer = ActivationObservation.Current;
        var expertObserver = observer as IExpertActivationObserver;
        if (expertObserver is not null)
        {
            // The expert tensors are reported whole, as a MUL_MAT_ID, not as the per-expert multiplications below.
            var chosen = scratch.Chosen.AsSpan(0, tokens * _used);
            expertObserver.ObserveExperts(_expertTensorNames[0], experts, embedding, input.AsSpan(0, tokens * embedding), 1, chosen, _used);
            expertObserver.ObserveExperts(_expertTensorNames[1], experts, embedding, input.AsSpan(0, tokens * embedding), 1, chosen, _used);
            scratch.EnsureDownInputs(tokens * _used * _feedForward);
        }
        var silence = observer is null ? null : ActivationObservation.Begin(SilentObserver.Instance);
        try
        {
            for (var x = 0; x < experts; x++)
            {
                // Gather the tokens routed to expert x, run its SwiGLU once over them, scatter the rows back by rank.
                var count = 0;
                for (var t = 0; t < tokens; t++)
                {
                    var rank = scratch.Chosen.AsSpan(t * _used, _used).IndexOf(x);
                    if (rank >= 0)
                    {
                        input.AsSpan(t * embedding, embedding).CopyTo(scratch.Gathered.AsSpan(count * embedding, embedding));
                        scratch.Slots[count++] = t * _used + rank;
                    }
                }
                if (count == 0)
                {
                    continue;
                }
                var gathered = scratch.Gathered.AsSpan(0, count * embedding);
                matMul.Multiply(_gate[x], gathered, count, scratch.Gate);
                matMul.Multiply(_up[x], gathered, count, scratch.Up);
                VectorExp.SiluTimes(scratch.Gate.AsSpan(0, count * _feedForward), scratch.Up.AsSpan(0, count * _feedForward), _feedForward, width);
                matMul.Multiply(_down[x], scratch.Gate.AsSpan(0, count * _feedForward), count, scratch.Down);
                for (var i = 0; i < count; i++)
                {
                    scratch.Down.AsSpan(i * embedding, embedding).CopyTo(scratch.ExpertOutputs.AsSpan(scratch.Slots[i] * embedding, embedding));
                    if (expertObserver is not null)
                    {
                        scratch.Gate.AsSpan(i * _feedForward, _feedForward).CopyTo(scratch.DownInputs.AsSpan(scratch.Slots[i] * _feedForward, _feedForward));
                    }
                }
            }
        }
        finally
        {
            silence?.Dispose();
        }
        // ffn_down_exps multiplies one row per token and selection slot: [token][slot][feed-forward].
        expertObserver?.ObserveExperts(_expertTensorNames[2], experts, _feedForward, scratch.DownInputs.AsSpan(0, tokens * _used * _feedForward), _used, scratch.Chosen.AsSpan(0, tokens * _used), _used);
        if (_shared is { } shared)
        {
            RunShared(matMul, shared, input, tokens, embedding, scratch, width);
        }
        // Everything that reads the input is done: output may be the same array.
        for (var t = 0; t < tokens; t++)
        {
            var y = output.AsSpan(t * embedding, embedding);
            for (var s = 0; s < _used; s++)
            {
                var w = scratch.Weights[t * _used + s];
                var expertOutput = scratch.ExpertOutputs.AsSpan((t * _used + s) * embedding, embedding);
                for (var i = 0; i < embedding; i++)
                {
                    // ggml_mul by the weight, then the views added in rank order.
                    var v = expertOutput[i] * w;
                    y[i] = s == 0 ? v : y[i] + v;
                }
            }
            if (_shared is not null)
            {
                // ggml_add(moe_out, ffn_shexp_out).
                var sharedOutput = scratch.Shared.AsSpan(t * embedding, embedding);
                for (var i = 0; i < embedding; i++)
                {
                    y[i] += sharedOutput[i];
                }
            }
        }
    }

    /// <summary>
    /// The router's logits (<c>ffn_gate_inp</c>, which llama-quantize leaves F32) in llama.cpp's order at
    /// <paramref name="width"/>: unlike <see cref="F32Dot"/>, which keeps the AVX2 build's order at every width for
    /// the golden references, the AVX-512 orders at <see cref="KernelWidth.Vector512"/> (tinyBLAS for a batch,
    /// <c>ggml_vec_dot_f32</c> for one token), since the MoE references (Fixtures/runtime/llama-moe.*, qwen2moe.*) come
    /// from an AVX-512 build: a last-bit difference here moves the expert weights of every token, and in a K-quant
    /// model a Q8_K scale chosen differently further on turns such bits into 1e-3 in the logits.
    /// </summary>
    void RouterLogits(MatMul matMul, ReadOnlySpan<float> input, int tokens, int embedding, float[] logits, KernelWidth width)
    {
        if (_router.Tensor.Type != GgmlType.F32 || width != KernelWidth.Vector512)
        {
            matMul.Multiply(_router, input, tokens, logits);
            return;
        }
        // The importance-matrix hook MatMul.Multiply would call.
        ActivationObservation.Current?.Observe(_router.Tensor.Name, input, tokens, embedding);
        FloatMatrix.Multiply<F32Row, F32Row>(
            _router.Tensor.Data, _router.RowBytes, _router.Rows, MemoryMarshal.AsBytes(input), embedding * sizeof(float), tokens, embedding,
            logits, _router.Rows, doubleTail: false, width);
    }

    /// <summary>The shared expert's output, already scaled by its gate, into <c>scratch.Shared</c>.</summary>
    static void RunShared(MatMul matMul, SharedExpert shared, float[] input, int tokens, int embedding, Scratch scratch, KernelWidth width)
    {
        var ff = shared.Gate.Rows;
        var x = input.AsSpan(0, tokens * embedding);
        matMul.Multiply(shared.Gate, x, tokens, scratch.Gate);
        matMul.Multiply(shared.Up, x, tokens, scratch.Up);
        VectorExp.SiluTimes(scratch.Gate.AsSpan(0, tokens * ff), scratch.Up.AsSpan(0, tokens * ff), ff, width);
        matMul.Multiply(shared.Down, scratch.Gate.AsSpan(0, tokens * ff), tokens, scratch.Shared);
        var gateInput = MemoryMarshal.AsBytes(shared.GateInput.AsSpan());
        for (var t = 0; t < tokens; t++)
        {
            // ffn_gate_inp_shexp is an F32 vector: a one-row F32 mul_mat, then ggml_div(ggml_silu(s), s).
            var s = SharedGateDot.Dot(gateInput, MemoryMarshal.AsBytes(x.Slice(t * embedding, embedding)), embedding, width);
            var gate = s / (1f + MathF.Exp(-s)) / s;
            var row = scratch.Shared.AsSpan(t * embedding, embedding);
            for (var i = 0; i < embedding; i++)
            {
                row[i] *= gate;
            }
        }
    }

    static readonly F32Dot SharedGateDot = new();

    /// <summary>ggml_top_k: ggml-cpu's exchange sort of the indices by descending value, then the first k.</summary>
    static void TopK(ReadOnlySpan<float> values, int[] order, Span<int> chosen)
    {
        var n = values.Length;
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                if (values[order[i]] < values[order[j]])
                {
                    (order[i], order[j]) = (order[j], order[i]);
                }
            }
        }
        order.AsSpan(0, chosen.Length).CopyTo(chosen);
    }

    /// <summary>Buffers of the routed feed-forward, grown to the largest batch and reused.</summary>
    internal sealed class Scratch
    {
        int _tokens = -1;

        public float[] RouterLogits { get; private set; } = [];

        public int[] Chosen { get; private set; } = [];

        public int[] Order { get; private set; } = [];

        public float[] Weights { get; private set; } = [];

        public float[] Gathered { get; private set; } = [];

        public int[] Slots { get; private set; } = [];

        public float[] Gate { get; private set; } = [];

        public float[] Up { get; private set; } = [];

        public float[] Down { get; private set; } = [];

        public float[] ExpertOutputs { get; private set; } = [];

        public float[] Shared { get; private set; } = [];

        /// <summary>The rows each token's selected experts multiplied by <c>ffn_down</c>, kept only for an observer.</summary>
        public float[] DownInputs { get; private set; } = [];

        public void EnsureDownInputs(int length)
        {
            if (DownInputs.Length < length)
            {
                DownInputs = new float[length];
            }
        }

        public void Ensure(int tokens, int embedding, MixtureOfExperts moe)
        {
            if (tokens <= _tokens && Gate.Length >= tokens * moe.ScratchFeedForwardLength && RouterLogits.Length >= tokens * moe.ExpertCount)
            {
                return;
            }
            _tokens = tokens;
            RouterLogits = new float[tokens * moe.ExpertCount];
            Chosen = new int[tokens * moe.ExpertsUsed];
            Order = new int[moe.ExpertCount];
            Weights = new float[tokens * moe.ExpertsUsed];
            Gathered = new float[tokens * embedding];
            Slots = new int[tokens];
            Gate = new float[tokens * moe.ScratchFeedForwardLength];
            Up = new float[tokens * moe.ScratchFeedForwardLength];
            Down = new float[tokens * embedding];
            ExpertOutputs = new float[tokens * moe.ExpertsUsed * embedding];
            Shared = new float[tokens * embedding];
        }
    }
}
