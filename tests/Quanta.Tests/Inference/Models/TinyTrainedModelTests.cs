using System.Text.Json;
using Quanta.Tests.Cli;
using Quanta.Tests.Quantization;

namespace Quanta.Tests.Inference.Models;

/// <summary>
/// The trained tiny Llama the repository ships (Fixtures/models/tiny-llama-trained): its Q8_0 file and every file
/// the perplexity figures were measured on hold llama-quantize's tensors, byte for byte (llama.cpp/llama-quantize.*.tensors.json:
/// llama-quantize of the f32 conversion, hashed), and greedy continuations are llama.cpp's token for token
/// (llama.cpp/greedy.json: llama-simple's loop — prompt tokenized with BOS and special tokens, one batch, then one
/// token at a time — printing ids).
/// </summary>
public sealed class TinyTrainedModelTests(TinyTrainedModel model) : IClassFixture<TinyTrainedModel>
{
    [Fact]
    public void The_shipped_Q8_0_is_the_checkpoint_converted_and_holds_llama_quantize_s_tensors()
    {
        // What the repository ships is what `quanta convert --type q8_0` writes today, byte for byte ...
        var output = model.Scratch("converted.Q8_0.gguf");
        var result = CliRunner.Run("convert", TinyTrainedModel.Directory, "--type", "q8_0", "-o", output, "--threads", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(File.ReadAllBytes(output).AsSpan().SequenceEqual(File.ReadAllBytes(TinyTrainedModel.ShippedQ8_0)), "the shipped Q8_0 file is not what convert writes");
        // ... and its tensors are the ones llama-quantize makes of the f32 conversion (convert writes them in
        // convert_hf_to_gguf.py's order, llama-quantize in its input's, so they are matched by name).
        AssertLlamaQuantizeTensors("Q8_0", TinyTrainedModel.ShippedQ8_0, inOrder: false);
    }

    [Theory]
    [InlineData("bf16", "BF16")]
    [InlineData("Q6_K", "Q6_K")]
    [InlineData("Q4_K_M", "Q4_K_M")]
    [InlineData("Q4_0", "Q4_0")]
    [InlineData("Q3_K_M", "Q3_K_M")]
    [InlineData("Q2_K", "Q2_K")]
    public void The_measured_files_hold_llama_quantize_s_tensors(string type, string llamaQuantizeType) =>
        AssertLlamaQuantizeTensors(llamaQuantizeType, model.Path(type), inOrder: type != "bf16");

    public static TheoryData<string, string> GreedyCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var entry in LoadGreedy())
        {
            data.Add(entry.Type, entry.Prompt);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GreedyCases))]
    public void Greedy_continuations_are_llama_cpp_s(string type, string prompt)
    {
        var expected = LoadGreedy().Single(e => e.Type == type && e.Prompt == prompt);
        var result = CliRunner.Run("complete", "-m", model.Path(type), "-p", prompt, "-n", expected.Generated.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--temp", "0", "--ids", "-t", "2");
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out.TrimEnd().Split('\n')[^1]);
        Assert.Equal(expected.PromptTokens, json.RootElement.GetProperty("prompt_tokens").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Equal(expected.Generated, json.RootElement.GetProperty("generated").EnumerateArray().Select(t => t.GetInt32()));
    }

    static void AssertLlamaQuantizeTensors(string llamaQuantizeType, string path, bool inOrder) =>
        ExpectedModel.AssertMatches(ExpectedModel.LoadFile(TinyTrainedModel.LlamaCpp($"llama-quantize.{llamaQuantizeType}.tensors.json")), path, byName: !inOrder);

    sealed record GreedyCase(string Type, string Prompt, int[] PromptTokens, int[] Generated);

    static IReadOnlyList<GreedyCase> LoadGreedy()
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(TinyTrainedModel.LlamaCpp("greedy.json")));
        return [.. json.RootElement.EnumerateArray().Select(e => new GreedyCase(
            e.GetProperty("type").GetString()!,
            e.GetProperty("prompt").GetString()!,
            [.. e.GetProperty("prompt_tokens").EnumerateArray().Select(t => t.GetInt32())],
            [.. e.GetProperty("generated").EnumerateArray().Select(t => t.GetInt32())]))];
    }
}
