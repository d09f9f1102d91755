using System.Text;
using Quanta.Formats;
using Quanta.Quantization;

namespace Quanta.Tests.Quantization;

/// <summary>Plans against the types llama-quantize (2026 source) gave every tensor of three models.</summary>
public class GoldenMixTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in MixFixture.Models)
        {
            foreach (var preset in MixFixture.Load(model).Presets.Keys)
            {
                data.Add(model, preset);
            }
        }
        return data;
    }

    [Fact]
    public void All_three_models_and_23_presets_are_covered()
    {
        Assert.Equal(69, Cases().Count);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_tensor_gets_the_golden_type(string model, string presetName)
    {
        var fixture = MixFixture.Load(model);
        var golden = fixture.Presets[presetName];
        var plan = QuantizationPlan.Create(fixture.Tensors, fixture.Hyperparameters(), QuantizationPresets.Parse(presetName));

        var planned = plan.Entries.ToDictionary(e => e.Name, e => e.TargetType);
        var mismatches = new StringBuilder();
        foreach (var (name, typeName) in golden)
        {
            Assert.True(GgmlTypeInfo.TryParse(typeName, out var expected), $"unknown golden type {typeName}");
            if (!planned.TryGetValue(name, out var actual))
            {
                mismatches.AppendLine($"  {name}: missing from the plan (golden {typeName})");
            }
            else if (actual != expected.Type)
            {
                var entry = plan.Find(name)!;
                mismatches.AppendLine($"  {name}: planned {GgmlTypeInfo.Of(actual).Name} ({entry.Decision.Detail}), golden {expected.Name}");
            }
        }
        Assert.True(mismatches.Length == 0, $"{model} {presetName}: mismatches\n{mismatches}");
        Assert.Equal(golden.Count, plan.Entries.Count);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_plan_visits_tensors_in_llama_cpp_order(string model, string presetName)
    {
        var fixture = MixFixture.Load(model);
        var plan = QuantizationPlan.Create(fixture.Tensors, fixture.Hyperparameters(), QuantizationPresets.Parse(presetName));
        Assert.Equal(fixture.Presets[presetName].Select(p => p.Key), plan.Entries.Select(e => e.Name));
    }
}
