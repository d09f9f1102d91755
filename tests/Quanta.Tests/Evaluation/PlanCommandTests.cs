using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Quanta.Evaluation;
using Quanta.Formats.Gguf;
using Quanta.Tests.Cli;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Evaluation;

/// <summary>
/// <c>quanta plan</c>: each preset's file size against the files llama-quantize wrote from the same f32 model
/// (Fixtures/evaluation/llama-quantize.file-sizes.txt) and the files <c>quanta quantize</c> writes; the KV cache
/// against what llama-cli printed for the trained and the random tiny Llama at two context sizes, with f16 and
/// q8_0 keys (Fixtures/evaluation/llama-cli.kv-cache.txt, February 2025 build: no sliding-window layers there).
/// </summary>
public sealed class PlanCommandTests(TinyTrainedModel model) : IClassFixture<TinyTrainedModel>
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "evaluation", name);

    [Fact]
    public void File_sizes_are_the_files_llama_quantize_and_quantize_write()
    {
        var expected = File.ReadLines(Fixture("llama-quantize.file-sizes.txt")).Where(l => !l.StartsWith('#'))
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));
        var run = CliRunner.Run(["plan", model.Path("f32"), "--json", "--ctx", "512", "--type", .. expected.Keys]);
        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal(512, json.RootElement.GetProperty("ctx").GetInt32());
        var presets = json.RootElement.GetProperty("presets").EnumerateArray().ToArray();
        Assert.Equal(expected.Count, presets.Length);
        foreach (var p in presets)
        {
            Assert.Equal(["type", "file_size", "kv_cache", "compute", "total", "fits"], p.EnumerateObject().Select(x => x.Name));
            var type = p.GetProperty("type").GetString()!;
            Assert.Equal(expected[type], p.GetProperty("file_size").GetInt64());
            Assert.Equal(p.GetProperty("file_size").GetInt64() + p.GetProperty("kv_cache").GetInt64() + p.GetProperty("compute").GetInt64(), p.GetProperty("total").GetInt64());
        }
        // And the file quanta quantize writes (the test model's presets are quantized from the same f32 file).
        foreach (var type in new[] { "Q4_K_M", "Q3_K_M" })
        {
            Assert.Equal(new FileInfo(model.Path(type)).Length, expected[type]);
        }
    }

    [Theory]
    [InlineData("f32", 512, "f16")]
    [InlineData("f32", 4096, "f16")]
    [InlineData("f32", 512, "q8_0")]
    [InlineData("f32", 4096, "q8_0")]
    [InlineData("tiny-llama-f16", 512, "f16")]
    [InlineData("tiny-llama-f16", 4096, "q8_0")]
    public void Kv_cache_is_what_llama_cpp_allocates(string name, int context, string keys)
    {
        var fixture = File.ReadAllLines(Fixture("llama-cli.kv-cache.txt"));
        var line = fixture[Array.IndexOf(fixture, $"# llama-cli.{name}.c{context}.{keys}.log") + 1];
        var mib = Regex.Matches(line, @"\d+\.\d\d").Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture)).ToArray();
        var path = name == "f32" ? model.Path("f32") : CliRunner.TinyModel;
        using var file = GgufFile.Open(path);
        var options = new MemoryPlanOptions { Context = context, KeyType = keys == "q8_0" ? Quanta.Formats.GgmlType.Q8_0 : Quanta.Formats.GgmlType.F16 };
        var total = MemoryPlan.KvCacheBytes(file.Metadata, options);
        var keysOnly = MemoryPlan.KvCacheBytes(file.Metadata, options with { ValueType = options.KeyType }) / 2;
        Assert.Equal(mib[0], Math.Round(total / 1048576.0, 2));
        Assert.Equal(mib[1], Math.Round(keysOnly / 1048576.0, 2));
        Assert.Equal(mib[2], Math.Round((total - keysOnly) / 1048576.0, 2));
    }

    [Fact]
    public void Sliding_window_layers_keep_only_their_window()
    {
        // gemma3: five of every six layers attend over a window; llama.cpp (2026) gives them
        // min(ctx, pad(window × parallel + n_ubatch, 256)) cells.
        var metadata = new GgufMetadata();
        metadata.Set("general.architecture", GgufValue.String("gemma3"));
        metadata.Set("gemma3.embedding_length", GgufValue.UInt32(256));
        metadata.Set("gemma3.block_count", GgufValue.UInt32(12));
        metadata.Set("gemma3.feed_forward_length", GgufValue.UInt32(512));
        metadata.Set("gemma3.attention.head_count", GgufValue.UInt32(4));
        metadata.Set("gemma3.attention.head_count_kv", GgufValue.UInt32(1));
        metadata.Set("gemma3.attention.key_length", GgufValue.UInt32(64));
        metadata.Set("gemma3.attention.value_length", GgufValue.UInt32(64));
        metadata.Set("gemma3.attention.layer_norm_rms_epsilon", GgufValue.Float32(1e-6f));
        metadata.Set("gemma3.attention.sliding_window", GgufValue.UInt32(512));
        var row = 64 * 2 * 2; // K and V rows of one f16 head
        Assert.Equal((2L * 8192 + 10L * 1024) * row, MemoryPlan.KvCacheBytes(metadata, new MemoryPlanOptions { Context = 8192 }));
        Assert.Equal((2L * 8192 + 10L * 2560) * row, MemoryPlan.KvCacheBytes(metadata, new MemoryPlanOptions { Context = 8192, Parallel = 4 }));
        // A context shorter than the window: every layer at the context.
        Assert.Equal(12L * 600 * row, MemoryPlan.KvCacheBytes(metadata, new MemoryPlanOptions { Context = 600 }));
    }

    [Fact]
    public void A_budget_lists_the_presets_that_fit_best_quality_first()
    {
        var run = CliRunner.Run("plan", model.Path("f32"), "--ctx", "512", "--type", "Q3_K_M", "Q8_0", "Q4_K_M", "--budget", "91000000", "--json");
        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(run.Out);
        var presets = json.RootElement.GetProperty("presets").EnumerateArray().ToArray();
        Assert.Equal(["Q8_0", "Q4_K_M", "Q3_K_M"], presets.Select(p => p.GetProperty("type").GetString()));
        Assert.All(presets, p => Assert.Equal(p.GetProperty("total").GetInt64() <= 91_000_000, p.GetProperty("fits").GetBoolean()));
        // Q3_K_M's 8.97 MB file fits with its KV cache and buffers, Q4_K_M's 9.34 MB does not.
        Assert.Equal([false, false, true], presets.Select(p => p.GetProperty("fits").GetBoolean()));
        Assert.Equal(1, CliRunner.Run("plan", model.Path("f32"), "--budget", "lots").ExitCode);
        Assert.Equal(1, CliRunner.Run("plan", model.Path("f32"), "--type", "Q9_X").ExitCode);
    }
}
