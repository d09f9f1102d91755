using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
using Quanta.Quantization;

namespace Quanta.Tests.Quantization;

/// <summary>Llama-shaped tensor lists for rule tests: F16 matrices, F32 norms.</summary>
static class SyntheticModel
{
    public static List<GgufTensorInfo> Llama(int layers, int width = 256, int ffn = 256, int kvWidth = 256, bool tied = false, int experts = 0)
    {
        var tensors = new List<GgufTensorInfo>
        {
            Matrix("token_embd.weight", width, 512),
            new("output_norm.weight", [width], GgmlType.F32),
        };
        if (!tied)
        {
            tensors.Add(Matrix("output.weight", width, 512));
        }
        for (var i = 0; i < layers; i++)
        {
            var p = $"blk.{i}.";
            tensors.Add(new(p + "attn_norm.weight", [width], GgmlType.F32));
            tensors.Add(new(p + "ffn_norm.weight", [width], GgmlType.F32));
            tensors.Add(Matrix(p + "attn_q.weight", width, width));
            tensors.Add(Matrix(p + "attn_k.weight", width, kvWidth));
            tensors.Add(Matrix(p + "attn_v.weight", width, kvWidth));
            tensors.Add(Matrix(p + "attn_output.weight", width, width));
            if (experts > 0)
            {
                tensors.Add(new(p + "ffn_gate_inp.weight", [width, experts], GgmlType.F32));
                tensors.Add(new(p + "ffn_gate_exps.weight", [width, ffn, experts], GgmlType.F16));
                tensors.Add(new(p + "ffn_up_exps.weight", [width, ffn, experts], GgmlType.F16));
                tensors.Add(new(p + "ffn_down_exps.weight", [ffn, width, experts], GgmlType.F16));
            }
            else
            {
                tensors.Add(Matrix(p + "ffn_gate.weight", width, ffn));
                tensors.Add(Matrix(p + "ffn_up.weight", width, ffn));
                tensors.Add(Matrix(p + "ffn_down.weight", ffn, width));
            }
        }
        return tensors;
    }

    public static GgufTensorInfo Matrix(string name, long rowLength, long rows) => new(name, [rowLength, rows], GgmlType.F16);

    public static QuantizationPlan Plan(
        IEnumerable<GgufTensorInfo> tensors,
        string preset,
        QuantizationOptions? options = null,
        int heads = 8,
        int kvHeads = 2,
        int experts = 0,
        string architecture = "llama")
    {
        var list = tensors.ToList();
        var layers = list.Count == 0 ? 0 : list.Max(t => TensorOrder.LayerOf(t.Name)) + 1;
        var model = ModelHyperparameters.Uniform(architecture, layers, heads, kvHeads, experts);
        return QuantizationPlan.Create(list, model, QuantizationPresets.Parse(preset), options);
    }

    public static GgmlType TypeOf(this QuantizationPlan plan, string name) =>
        (plan.Find(name) ?? throw new ArgumentException($"no tensor {name}")).TargetType;
}
