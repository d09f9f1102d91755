using Quanta.Formats;

namespace Quanta.Inference.Kernels;

/// <summary>The feed-forward activations as ggml-cpu computes them.</summary>
public static class Activations
{
    // ggml_table_gelu_f16: GELU (tanh approximation) of every half-precision value, rounded to half precision.
    static readonly Lazy<ushort[]> GeluTable = new(BuildGeluTable);

    // ggml_table_gelu_quick_f16: x·σ(1.702·x) of every half-precision value, rounded to half precision.
    static readonly Lazy<ushort[]> GeluQuickTable = new(() => BuildTable(x => x * (1.0f / (1.0f + MathF.Exp(-1.702f * x)))));

    /// <summary><c>y = silu(gate)·up</c> (<c>ggml_silu</c>: x/(1 + e^−x)), llama's SwiGLU.</summary>
    public static void SiluTimes(Span<float> gate, ReadOnlySpan<float> up)
    {
        for (var i = 0; i < gate.Length; i++)
        {
            var x = gate[i];
            gate[i] = x / (1f + MathF.Exp(-x)) * up[i];
        }
    }

    /// <summary>
    /// <c>y = gelu(gate)·up</c> as ggml-cpu's <c>ggml_vec_gelu_f32</c> with <c>GGML_GELU_FP16</c>: 0 below −10, x
    /// above 10, otherwise the input rounded to half precision looks up a half-precision table.
    /// </summary>
    public static void GeluTimes(Span<float> gate, ReadOnlySpan<float> up)
    {
        var table = GeluTable.Value;
        for (var i = 0; i < gate.Length; i++)
        {
            var x = gate[i];
            var g = x <= -10f ? 0f : x >= 10f ? x : Fp16.ToFloat(table[Fp16.FromFloat(x)]);
            gate[i] = g * up[i];
        }
    }

    /// <summary><c>ggml_gelu</c> in place (<c>ggml_vec_gelu_f32</c> with <c>GGML_GELU_FP16</c>): the vision towers' activation.</summary>
    public static void Gelu(Span<float> x)
    {
        var table = GeluTable.Value;
        for (var i = 0; i < x.Length; i++)
        {
            var v = x[i];
            x[i] = v <= -10f ? 0f : v >= 10f ? v : Fp16.ToFloat(table[Fp16.FromFloat(v)]);
        }
    }

    /// <summary>
    /// <c>ggml_gelu_quick</c> in place (<c>ggml_vec_gelu_quick_f32</c> with <c>GGML_GELU_QUICK_FP16</c>): the input
    /// rounded to half precision looks up a half-precision table, no clamp. CLIP's <c>quick_gelu</c>.
    /// </summary>
    public static void GeluQuick(Span<float> x)
    {
        var table = GeluQuickTable.Value;
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = Fp16.ToFloat(table[Fp16.FromFloat(x[i])]);
        }
    }

    /// <summary><c>ggml_gelu_f32</c>: 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))) in float.</summary>
    public static float Gelu(float x) =>
        0.5f * x * (1.0f + MathF.Tanh(0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x)));

    static ushort[] BuildTable(Func<float, float> f)
    {
        var table = new ushort[1 << 16];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = Fp16.FromFloat(f(Fp16.ToFloat((ushort)i)));
        }
        return table;
    }

    /// <summary>
    /// ggml_table_gelu_f16 as ggml_cpu_init fills it in the oracle's GCC build (<c>-O3 -march=native</c>, read from the
    /// disassembly): <c>1 + GELU_COEF_A·x·x</c> is contracted to one fused multiply-add of <c>(GELU_COEF_A·x)</c> and
    /// <c>x</c>. Of the 65,536 entries only x = −1.99902 (0xBFFF) rounds differently from <see cref="Gelu(float)"/>.
    /// </summary>
    static ushort[] BuildGeluTable()
    {
        var table = new ushort[1 << 16];
        for (var i = 0; i < table.Length; i++)
        {
            var x = Fp16.ToFloat((ushort)i);
            var inner = 0.79788456080286535587989211986876f * x * MathF.FusedMultiplyAdd(0.044715f * x, x, 1.0f);
            table[i] = Fp16.FromFloat(0.5f * x * (1.0f + MathF.Tanh(inner)));
        }
        return table;
    }
}
