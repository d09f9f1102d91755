using Quanta.Formats.Gguf;
using Quanta.Inference.Kernels;
using Quanta.Inference.Models;
using Quanta.Tests.Cli;
using Xunit;

namespace Quanta.Tests.Inference.Models;

/// <summary>Loading: hyperparameters from the GGUF keys, refusals that name what is wrong, and thread counts.</summary>
public sealed class LlamaModelTests(GoldenModelFiles files) : IClassFixture<GoldenModelFiles>
{
    [Fact]
    public void Hyperparameters_come_from_the_gguf_keys_with_llama_cpp_defaults()
    {
        using var gemma = GgufFile.Open(files.Path("gemma", "q8_0"));
        var hp = TransformerHyperparameters.FromMetadata(gemma.Metadata);
        // gemma has no rope keys: the rope covers the whole 64-wide head, base 10000.
        Assert.Equal(new TransformerHyperparameters("gemma", 256, 2, 512, 4, 1, 64, 64, 64, 10000f, 1e-6f, 4096), hp);

        using var mistral = GgufFile.Open(files.Path("mistral", "q8_0"));
        var m = TransformerHyperparameters.FromMetadata(mistral.Metadata);
        Assert.Equal(("llama", 3, 4, 1, 64, 1_000_000f), (m.Architecture, m.BlockCount, m.HeadCount, m.KvHeadCount, m.KeyLength, m.RopeFreqBase));
    }

    [Fact]
    public void Unsupported_architectures_and_missing_tensors_are_refused_by_name()
    {
        using var dir = new TempDirectory();
        var path = dir.File("model.gguf");
        File.Copy(files.Path("llama", "q8_0"), path);
        GgufEdit.SetKey(path, GgufKeys.Architecture, GgufValue.String("mamba"));
        using (var file = GgufFile.Open(path))
        {
            var error = Assert.Throws<GgufFormatException>(() => LlamaModel.Load(file, 1));
            Assert.Contains("'mamba'", error.Message, StringComparison.Ordinal);
            Assert.Contains("llama, gemma", error.Message, StringComparison.Ordinal);
        }

        File.Copy(files.Path("llama", "q8_0"), path, overwrite: true);
        GgufEdit.RenameTensor(path, "blk.1.ffn_up.weight", "blk.1.ffn_upp.weight");
        using (var file = GgufFile.Open(path))
        {
            Assert.Contains("'blk.1.ffn_up.weight' is missing", Assert.Throws<GgufFormatException>(() => LlamaModel.Load(file, 1)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Logits_do_not_depend_on_threads_or_kernel_width()
    {
        using var file = GgufFile.Open(files.Path("mistral", "q4km"));
        int[] tokens = [1, 450, 4996, 17354, 1701, 29916];
        float[]? expected = null;
        foreach (var (threads, width) in new[] { (1, KernelWidth.Scalar), (3, KernelWidth.Vector256), (2, KernelWidth.Vector512) })
        {
            using var model = LlamaModel.Load(file, threads, width);
            var logits = new float[tokens.Length * model.VocabularySize];
            model.Evaluate(tokens, logits);
            expected ??= logits;
            Assert.Equal(expected, logits);
        }
    }

    [Fact]
    public void A_shorter_batch_after_a_longer_one_reuses_the_buffers_without_leftovers()
    {
        using var file = GgufFile.Open(files.Path("gemma", "q4km"));
        int[] tokens = [1, 450, 4996, 17354, 1701, 29916, 432, 17204, 975];
        using var fresh = LlamaModel.Load(file, 2);
        var expected = new float[3 * fresh.VocabularySize];
        fresh.Evaluate(tokens.AsSpan(0, 3), expected);

        using var reused = LlamaModel.Load(file, 2);
        reused.Evaluate(tokens, new float[tokens.Length * reused.VocabularySize]);
        var logits = new float[3 * reused.VocabularySize];
        reused.Evaluate(tokens.AsSpan(0, 3), logits);
        Assert.Equal(expected, logits);
    }

    [Fact]
    public void Family_specific_tensors_and_unsupported_rope_scaling_are_refused_by_name()
    {
        using var dir = new TempDirectory();
        var path = dir.File("model.gguf");
        File.Copy(files.Path("qwen2", "q8_0"), path);
        GgufEdit.RenameTensor(path, "blk.1.attn_k.bias", "blk.1.attn_k.bias_");
        using (var file = GgufFile.Open(path))
        {
            Assert.Contains("'blk.1.attn_k.bias' is missing", Assert.Throws<GgufFormatException>(() => LlamaModel.Load(file, 1)).Message, StringComparison.Ordinal);
        }

        File.Copy(files.Path("gemma3", "q8_0"), path, overwrite: true);
        GgufEdit.RenameTensor(path, "blk.0.attn_q_norm.weight", "blk.0.attn_q_norm.weight_");
        using (var file = GgufFile.Open(path))
        {
            Assert.Contains("'blk.0.attn_q_norm.weight' is missing", Assert.Throws<GgufFormatException>(() => LlamaModel.Load(file, 1)).Message, StringComparison.Ordinal);
        }

        File.Copy(files.Path("qwen2", "q8_0"), path, overwrite: true);
        GgufEdit.SetKey(path, "qwen2.rope.scaling.type", GgufValue.String("yarn"));
        using (var file = GgufFile.Open(path))
        {
            Assert.Contains("'yarn' cannot be run yet", Assert.Throws<GgufFormatException>(() => LlamaModel.Load(file, 1)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_q8_0_key_cache_needs_heads_of_whole_blocks()
    {
        // gemma2's recipe has 32-wide heads; the golden llama's are 64: both run. A 16-wide head cannot hold Q8_0 blocks.
        using var dir = new TempDirectory();
        var path = dir.File("model.gguf");
        File.Copy(files.Path("llama", "q8_0"), path);
        GgufEdit.SetKey(path, "llama.attention.key_length", GgufValue.UInt32(16));
        using var file = GgufFile.Open(path);
        var error = Assert.Throws<GgufFormatException>(() => LlamaModel.Load(file, 1, null, new KvCacheTypes(Quanta.Formats.GgmlType.Q8_0, Quanta.Formats.GgmlType.F16)));
        Assert.Contains("multiple of 32", error.Message, StringComparison.Ordinal);
    }
}
