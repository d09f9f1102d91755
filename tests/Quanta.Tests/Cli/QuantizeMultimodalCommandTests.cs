using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Tests.Quantization;
using static Quanta.Formats.GgmlType;

namespace Quanta.Tests.Cli;

/// <summary>
/// Vision models through the command line: a llava-style projector (clip) file, and an Ollama-style
/// single-file gemma3 with vision tower and projector, quantized and read back tensor by tensor.
/// </summary>
public class QuantizeMultimodalCommandTests
{
    /// <summary>
    /// The projector file under Q4_K_M, as llama-quantize 2026 plans an mmproj (preset default and mix with
    /// no hyperparameters, the multimodal skip list) plus the clip quantizer's rules.
    /// </summary>
    static readonly Dictionary<string, GgmlType> ClipQ4KM = new()
    {
        ["v.class_embd"] = F32,                 // 1-D, not a weight
        ["v.patch_embd.weight"] = F16,          // skip list (and 4-D)
        ["v.patch_embd.bias"] = F32,
        ["v.position_embd.weight"] = F16,       // skip list
        ["v.tile_position_embd.weight"] = Q8_0, // *embd* table: q4_K -> q8_0
        ["v.pre_ln.weight"] = F32,
        ["v.blk.0.attn_q.weight"] = Q4_K,
        ["v.blk.0.attn_k.weight"] = Q4_K,
        ["v.blk.0.attn_v.weight"] = Q4_K,       // use_more_bits(0, 2) is false
        ["v.blk.1.attn_v.weight"] = Q6_K,       // use_more_bits(1, 2) is true
        ["v.blk.0.attn_out.weight"] = Q4_K,     // not attn_output: no rule
        ["v.blk.0.attn_q.bias"] = F32,
        ["v.blk.0.ln1.weight"] = F32,
        ["v.blk.0.ffn_down.weight"] = Q6_K,     // use_more_bits(i, 0) with llama.cpp's 0 blocks for clip
        ["v.blk.1.ffn_down.weight"] = Q6_K,
        ["v.blk.0.ffn_up.weight"] = F16,        // row 304: q4_K -> q5_0 does not fit either -> f16
        ["mm.0.weight"] = Q4_K,                 // row 512
        ["mm.0.bias"] = F32,
        ["mm.2.weight"] = Q5_0,                 // row 288: q4_K -> q5_0
        ["mm.model.fc.weight"] = F16,           // row 64 is not longer than one q4_K block
    };

    static void AssertTypes(string path, IReadOnlyDictionary<string, GgmlType> expected)
    {
        using var file = GgufFile.Open(path);
        foreach (var (name, type) in expected)
        {
            var tensor = file.FindTensor(name) ?? throw new Xunit.Sdk.XunitException($"no tensor {name} in the output");
            Assert.True(type == tensor.Type, $"{name}: expected {GgmlTypeInfo.Of(type).Name}, got {GgmlTypeInfo.Of(tensor.Type).Name}");
        }
    }

    /// <summary>
    /// Every output tensor decodes close to what went in: kept tensors byte for byte, the rest within what
    /// their type's bits allow (relative RMS error).
    /// </summary>
    static void AssertDecodesClose(string input, string output)
    {
        using var source = GgufFile.Open(input);
        using var result = GgufFile.Open(output);
        Assert.Equal(source.Tensors.Count, result.Tensors.Count);
        foreach (var tensor in result.Tensors)
        {
            var original = source.FindTensor(tensor.Name)!;
            Assert.Equal(original.Shape, tensor.Shape);
            if (tensor.Type == original.Type)
            {
                Assert.True(original.Data.SequenceEqual(tensor.Data), $"{tensor.Name} was kept but its bytes changed");
                continue;
            }
            var want = MultimodalModelFiles.Decode(original);
            var got = MultimodalModelFiles.Decode(tensor);
            double error = 0, norm = 0;
            for (var i = 0; i < want.Length; i++)
            {
                error += (want[i] - got[i]) * (double)(want[i] - got[i]);
                norm += want[i] * (double)want[i];
            }
            var relative = Math.Sqrt(error / norm);
            var bound = tensor.Type switch
            {
                F16 or BF16 or F32 => 0.005,
                Q8_0 => 0.01,
                Q6_K => 0.03,
                Q5_0 or Q5_1 or Q5_K => 0.06,
                _ => 0.12,
            };
            Assert.True(relative < bound, $"{tensor.Name} as {GgmlTypeInfo.Of(tensor.Type).Name}: relative RMS error {relative:F4} >= {bound}");
        }
    }

    [Fact]
    public void A_projector_file_is_quantized_with_the_preset_and_the_clip_rules()
    {
        using var dir = new TempDirectory();
        var input = MultimodalModelFiles.WriteClip(dir.File("mmproj-f16.gguf"));
        var result = CliRunner.Run("quantize", input, dir.File("mmproj-q4_k_m.gguf"), "Q4_K_M");
        Assert.True(result.ExitCode == 0, result.Error);
        AssertTypes(dir.File("mmproj-q4_k_m.gguf"), ClipQ4KM);
        AssertDecodesClose(input, dir.File("mmproj-q4_k_m.gguf"));
        // ffn_up (2) and mm.2 fell back.
        Assert.Contains("warning: 3 of", result.Error, StringComparison.Ordinal);
        using var output = GgufFile.Open(dir.File("mmproj-q4_k_m.gguf"));
        Assert.Equal("clip", output.Metadata.GetString("general.architecture"));
        Assert.Equal(15u, output.Metadata.GetUInt32("general.file_type"));
    }

    [Fact]
    public void A_row_with_no_fallback_type_goes_to_f16_instead_of_aborting()
    {
        // Q8_0 has no fallback in llama.cpp's table: llama-quantize 2026 throws, and the old clip quantizer
        // hit ggml's row-divisibility assert (llamafile's llava-quantize on SigLIP). Here only that tensor
        // stays 16-bit.
        using var dir = new TempDirectory();
        var input = MultimodalModelFiles.WriteClip(dir.File("mmproj-f16.gguf"));
        var result = CliRunner.Run("quantize", input, dir.File("out.gguf"), "q8_0");
        Assert.True(result.ExitCode == 0, result.Error);
        AssertTypes(dir.File("out.gguf"), new Dictionary<string, GgmlType>
        {
            ["v.blk.0.ffn_up.weight"] = F16,
            ["v.blk.1.ffn_up.weight"] = F16,
            ["v.blk.0.ffn_down.weight"] = Q8_0,
            ["v.blk.0.attn_v.weight"] = Q8_0,
            ["mm.2.weight"] = Q8_0,             // 288 = 9 blocks of 32
            ["mm.model.fc.weight"] = Q8_0,      // 64 is longer than one q8_0 block
            ["v.tile_position_embd.weight"] = Q8_0,
            ["v.position_embd.weight"] = F16,
        });
        AssertDecodesClose(input, dir.File("out.gguf"));
    }

    [Fact]
    public void Dry_run_shows_why_each_projector_tensor_gets_its_type()
    {
        using var dir = new TempDirectory();
        var input = MultimodalModelFiles.WriteClip(dir.File("mmproj-f16.gguf"));
        var result = CliRunner.Run("quantize", "--dry-run", input, "Q4_K_M");
        Assert.True(result.ExitCode == 0, result.Error);
        string Line(string tensor) => result.Out.Split('\n').Single(l => l.Contains($" {tensor} ", StringComparison.Ordinal));
        Assert.Contains("multimodal position embeddings", Line("v.position_embd.weight"), StringComparison.Ordinal);
        Assert.Contains("multimodal patch embeddings", Line("v.patch_embd.weight"), StringComparison.Ordinal);
        Assert.Contains("1-D tensor", Line("v.blk.0.ln1.weight"), StringComparison.Ordinal);
        Assert.Contains("embedding table q4_K -> q8_0 (clip rule)", Line("v.tile_position_embd.weight"), StringComparison.Ordinal);
        Assert.Contains("row of 64 is not longer than one q4_K block", Line("mm.model.fc.weight"), StringComparison.Ordinal);
        Assert.Contains("Q4_K_M rule for ffn_down", Line("v.blk.0.ffn_down.weight"), StringComparison.Ordinal);
        Assert.Contains("row length 304 does not fit q4_K, fell back", Line("v.blk.0.ffn_up.weight"), StringComparison.Ordinal);
        Assert.Contains("row length 288 does not fit q4_K, fell back", Line("mm.2.weight"), StringComparison.Ordinal);
        Assert.Equal(["mmproj-f16.gguf"], dir.List());
    }

    [Fact]
    public void In_a_projector_file_the_component_types_override_the_preset()
    {
        using var dir = new TempDirectory();
        var input = MultimodalModelFiles.WriteClip(dir.File("mmproj-f16.gguf"));
        var result = CliRunner.Run("quantize", "--vision-type", "Q8_0", "--projector-type", "f32", "--tensor-type", "attn_v=q4_0",
            input, dir.File("out.gguf"), "Q4_K_M");
        Assert.True(result.ExitCode == 0, result.Error);
        AssertTypes(dir.File("out.gguf"), new Dictionary<string, GgmlType>
        {
            ["v.blk.0.attn_q.weight"] = Q8_0,
            ["v.blk.1.attn_v.weight"] = Q8_0,   // --vision-type beats --tensor-type
            ["v.blk.0.ffn_up.weight"] = F16,    // 304 does not fit q8_0
            ["v.position_embd.weight"] = F16,   // still kept
            ["v.blk.0.ln1.weight"] = F32,
            ["mm.0.weight"] = F32,
            ["mm.2.weight"] = F32,
            ["mm.model.fc.weight"] = F32,       // a row of 64 is longer than F32's one-element block
            ["mm.0.bias"] = F32,
        });
        AssertDecodesClose(input, dir.File("out.gguf"));
    }

    [Fact]
    public void In_a_single_file_model_vision_and_projector_tensors_are_kept_by_default()
    {
        using var dir = new TempDirectory();
        var input = MultimodalModelFiles.WriteGemma3(dir.File("gemma3-f16.gguf"));
        var textOnly = MultimodalModelFiles.WriteGemma3(dir.File("gemma3-text-f16.gguf"), withVision: false);
        Assert.Equal(0, CliRunner.Run("quantize", input, dir.File("out.gguf"), "Q4_K_M").ExitCode);
        Assert.Equal(0, CliRunner.Run("quantize", textOnly, dir.File("text.gguf"), "Q4_K_M").ExitCode);

        using var source = GgufFile.Open(input);
        using var output = GgufFile.Open(dir.File("out.gguf"));
        using var text = GgufFile.Open(dir.File("text.gguf"));
        foreach (var tensor in output.Tensors)
        {
            if (tensor.Name.StartsWith("v.", StringComparison.Ordinal) || tensor.Name.StartsWith("mm.", StringComparison.Ordinal))
            {
                var original = source.FindTensor(tensor.Name)!;
                Assert.Equal(original.Type, tensor.Type);
                Assert.True(original.Data.SequenceEqual(tensor.Data), tensor.Name);
            }
            else
            {
                // The vision tower's attn_v must not shift which text layers get more bits: the text part comes
                // out exactly as it does from the same model without the image tensors.
                var alone = text.FindTensor(tensor.Name)!;
                Assert.Equal(alone.Type, tensor.Type);
                Assert.True(alone.Data.SequenceEqual(tensor.Data), tensor.Name);
            }
        }
        Assert.Equal(Q4_K, output.FindTensor("blk.0.attn_q.weight")!.Type);
        AssertDecodesClose(input, dir.File("out.gguf"));
    }

    [Fact]
    public void Vision_and_projector_types_apply_per_component_in_a_single_file_model()
    {
        using var dir = new TempDirectory();
        var input = MultimodalModelFiles.WriteGemma3(dir.File("gemma3-f16.gguf"));
        var result = CliRunner.Run("quantize", "--vision-type", "q8_0", "--projector-type", "F16", input, dir.File("out.gguf"), "Q4_K_M");
        Assert.True(result.ExitCode == 0, result.Error);
        AssertTypes(dir.File("out.gguf"), new Dictionary<string, GgmlType>
        {
            ["blk.0.attn_q.weight"] = Q4_K,
            ["token_embd.weight"] = Q6_K,             // tied: the output's rule, as without vision
            ["v.blk.0.attn_q.weight"] = Q8_0,
            ["v.blk.1.attn_v.weight"] = Q8_0,
            ["v.blk.0.attn_output.weight"] = Q8_0,
            ["v.blk.0.mlp.fc1.weight"] = Q8_0,        // row 512
            ["v.blk.0.mlp.fc2.weight"] = F16,         // row 304: q8_0 has no fallback -> f16
            ["v.blk.0.attn_q.bias"] = F32,
            ["v.blk.0.layer_norm1.weight"] = F32,
            ["v.patch_embedding.weight"] = F16,       // Ollama's spelling, still kept
            ["v.position_embedding.weight"] = F16,
            ["mm.mm_input_projection.weight"] = F16,  // converted from F32
            ["mm.mm_soft_emb_norm.weight"] = F32,
        });
        AssertDecodesClose(input, dir.File("out.gguf"));
    }

    [Fact]
    public void Tensor_type_patterns_do_not_reach_the_image_tensors_of_a_single_file_model()
    {
        using var dir = new TempDirectory();
        var input = MultimodalModelFiles.WriteGemma3(dir.File("gemma3-f16.gguf"));
        var result = CliRunner.Run("quantize", "--dry-run", "--tensor-type", "attn_v=q8_0", input, "Q4_K_M");
        Assert.True(result.ExitCode == 0, result.Error);
        string Line(string tensor) => result.Out.Split('\n').Single(l => l.Contains($" {tensor} ", StringComparison.Ordinal));
        Assert.Contains("--tensor-type attn_v=q8_0", Line("blk.0.attn_v.weight"), StringComparison.Ordinal);
        Assert.Contains("vision tensor kept", Line("v.blk.0.attn_v.weight"), StringComparison.Ordinal);
        Assert.Contains("projector tensor kept", Line("mm.mm_input_projection.weight"), StringComparison.Ordinal);
    }

    [Fact]
    public void Dry_run_names_the_component_options()
    {
        using var dir = new TempDirectory();
        var input = MultimodalModelFiles.WriteGemma3(dir.File("gemma3-f16.gguf"));
        var result = CliRunner.Run("quantize", "--dry-run", "--vision-type", "q4_k", "--projector-type", "bf16", input, "Q4_K_M");
        Assert.True(result.ExitCode == 0, result.Error);
        string Line(string tensor) => result.Out.Split('\n').Single(l => l.Contains($" {tensor} ", StringComparison.Ordinal));
        Assert.Contains("--vision-type q4_K", Line("v.blk.0.attn_q.weight"), StringComparison.Ordinal);
        Assert.Contains("q4_K ", Line("v.blk.0.attn_q.weight"), StringComparison.Ordinal);
        Assert.Contains("row length 304 does not fit q4_K, fell back", Line("v.blk.0.mlp.fc2.weight"), StringComparison.Ordinal);
        Assert.Contains("--projector-type bf16", Line("mm.mm_input_projection.weight"), StringComparison.Ordinal);
        Assert.Contains("multimodal position embeddings", Line("v.position_embedding.weight"), StringComparison.Ordinal);
        Assert.Contains("Q4_K_M default", Line("blk.0.attn_q.weight"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_only_model_is_unchanged_by_the_component_options()
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("quantize", "--vision-type", "q8_0", "--projector-type", "f16", ExpectedModel.TinyModel, dir.File("out.gguf"), "Q4_K_M");
        Assert.Equal(0, result.ExitCode);
        ExpectedModel.AssertMatches("Q4_K_M", dir.File("out.gguf"));
    }

    [Theory]
    [InlineData("--vision-type")]
    [InlineData("--projector-type")]
    public void An_unknown_component_type_is_refused(string option)
    {
        using var dir = new TempDirectory();
        var result = CliRunner.Run("quantize", option, "q9_9", ExpectedModel.TinyModel, dir.File("out.gguf"), "Q4_K_M");
        // Like --output-tensor-type's: a value the command cannot use, reported as bad input (2).
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{option}: invalid ggml type 'q9_9'", result.Error, StringComparison.Ordinal);
        Assert.Empty(dir.List());
    }

    [Fact]
    public void Help_describes_the_component_options()
    {
        var result = CliRunner.Run("quantize", "--help");
        Assert.Contains("--vision-type", result.Out, StringComparison.Ordinal);
        Assert.Contains("v.* tensors", result.Out, StringComparison.Ordinal);
        Assert.Contains("--projector-type", result.Out, StringComparison.Ordinal);
        Assert.Contains("mm.* tensors", result.Out, StringComparison.Ordinal);
    }
}
