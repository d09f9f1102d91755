using Quanta.Conversion;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Inference.Vision;
using Quanta.Tests.Formats.Gguf;
using Quanta.Tests.Quantization;

namespace Quanta.Tests.Inference.Vision;

/// <summary>
/// Gemma 3's SigLIP path component by component against straightforward float64 code written from the model's
/// definition (Hugging Face's SiglipVisionTransformer and Gemma3MultiModalProjector), on a tiny projector file
/// with F32 weights (so only ggml's half-precision GELU table and float sums separate the two), and end to end
/// in both layouts: the projector pair merged into Ollama's single file gives the same embeddings bit for bit.
/// </summary>
public sealed class Gemma3VisionTests : IDisposable
{
    readonly TempDirectory _directory = new();
    readonly GgufFile _file;
    readonly VisionModel _model;

    public Gemma3VisionTests()
    {
        _file = GgufFile.Open(TinyVisionFiles.WriteGemma3Projector(Path.Combine(_directory.Path, "mmproj-f32.gguf"), GgmlType.F32));
        _model = VisionModel.Open(_file, threads: 2);
    }

    public void Dispose()
    {
        _model.Dispose();
        _file.Dispose();
        _directory.Dispose();
    }

    double[] Weights(string name) => [.. MultimodalModelFiles.Decode(_file.FindTensor(name)!).Select(v => (double)v)];

    static float[] RandomTile(int seed, int length)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (random.NextSingle() * 2) - 1)];
    }

    [Fact]
    public void Reads_the_tower_shape_from_the_projector_keys()
    {
        var p = _model.Parameters;
        Assert.Equal((VisionLayout.ClipProjector, VisionProjectorType.Gemma3), (p.Layout, p.Projector));
        Assert.Equal((32, 4, 64, 128, 4, 2, 2), (p.ImageSize, p.PatchSize, p.Width, p.FeedForward, p.Heads, p.BlocksRun, p.PoolKernel));
        Assert.Equal(16, p.TokensPerTile);
        Assert.Equal(MultimodalModelFiles.TextWidth, _model.EmbeddingLength);
    }

    [Fact]
    public void Patch_embedding_is_the_convolution_plus_bias_plus_positions()
    {
        var tile = RandomTile(1, 32 * 32 * 3);
        var actual = _model.Embeddings(tile);
        var kernel = Weights("v.patch_embd.weight");
        var bias = Weights("v.patch_embd.bias");
        var positions = Weights("v.position_embd.weight");
        const int w = 64, p = 4, side = 8;
        Assert.Equal(side * side * w, actual.Length);
        for (var patch = 0; patch < side * side; patch++)
        {
            var (py, px) = (patch / side, patch % side);
            for (var o = 0; o < w; o++)
            {
                var sum = bias[o] + positions[(patch * w) + o];
                for (var c = 0; c < 3; c++)
                {
                    for (var ky = 0; ky < p; ky++)
                    {
                        for (var kx = 0; kx < p; kx++)
                        {
                            sum += kernel[(o * 3 * p * p) + (((c * p) + ky) * p) + kx] * tile[(3 * ((((py * p) + ky) * 32) + (px * p) + kx)) + c];
                        }
                    }
                }
                Assert.True(Math.Abs(sum - actual[(patch * w) + o]) < 1e-4, $"patch {patch}, channel {o}: {actual[(patch * w) + o]} against {sum}");
            }
        }
    }

    [Fact]
    public void One_encoder_block_matches_float64()
    {
        var input = _model.Embeddings(RandomTile(2, 32 * 32 * 3));
        var actual = _model.Block(0, input);
        var expected = ReferenceBlock(0, [.. input.Select(v => (double)v)], 64, 4);
        AssertClose(expected, actual, maxDelta: 1e-2, minCosine: 0.99999);
    }

    [Fact]
    public void Pooling_averages_each_2x2_window_of_patches_row_by_row()
    {
        var tower = RandomTile(3, 64 * 64);
        var actual = _model.Pool(tower);
        Assert.Equal(16 * 64, actual.Length);
        for (var oy = 0; oy < 4; oy++)
        {
            for (var ox = 0; ox < 4; ox++)
            {
                for (var c = 0; c < 64; c++)
                {
                    double sum = 0;
                    foreach (var (dy, dx) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
                    {
                        sum += tower[(((((oy * 2) + dy) * 8) + (ox * 2) + dx) * 64) + c];
                    }
                    Assert.Equal(sum / 4, actual[(((oy * 4) + ox) * 64) + c], 5);
                }
            }
        }
    }

    [Fact]
    public void Projector_is_rms_norm_then_the_transposed_input_projection()
    {
        var tower = RandomTile(4, 64 * 64);
        var actual = _model.Project(tower);
        var pooled = _model.Pool(tower);
        var norm = Weights("mm.soft_emb_norm.weight");
        var projection = Weights("mm.input_projection.weight");
        var text = MultimodalModelFiles.TextWidth;
        var expected = new double[16 * text];
        for (var t = 0; t < 16; t++)
        {
            var row = pooled.AsSpan(t * 64, 64).ToArray().Select(v => (double)v).ToArray();
            var scale = 1 / Math.Sqrt((row.Sum(v => v * v) / 64) + 1e-6);
            for (var o = 0; o < text; o++)
            {
                double sum = 0;
                for (var v = 0; v < 64; v++)
                {
                    sum += projection[(v * text) + o] * row[v] * scale * norm[v];
                }
                expected[(t * text) + o] = sum;
            }
        }
        // The projection is F16: its input is rounded to half precision, as ggml does.
        AssertClose(expected, actual, maxDelta: 2e-2, minCosine: 0.9999);
    }

    [Fact]
    public void The_single_file_and_the_projector_pair_give_identical_embeddings()
    {
        var mmproj = TinyVisionFiles.WriteGemma3Projector(Path.Combine(_directory.Path, "mmproj-f16.gguf"), GgmlType.F16);
        var text = MultimodalModelFiles.WriteGemma3(Path.Combine(_directory.Path, "text.gguf"), withVision: false);
        var single = Path.Combine(_directory.Path, "single.gguf");
        using (var textFile = GgufFile.Open(text))
        using (var projectorFile = GgufFile.Open(mmproj))
        {
            Gemma3VisionPackaging.Merge(textFile, projectorFile, single);
        }
        using var pairFile = GgufFile.Open(mmproj);
        using var singleFile = GgufFile.Open(single);
        using var pair = VisionModel.Open(pairFile, threads: 2);
        using var one = VisionModel.Open(singleFile, threads: 2);
        Assert.Equal(VisionLayout.OllamaGemma3, one.Parameters.Layout);
        var picture = TestPatterns.Create("rings", 50, 30);
        var a = pair.Encode(picture);
        var b = one.Encode(picture);
        Assert.Equal(16, a.Tokens);
        Assert.Equal(MultimodalModelFiles.TextWidth, a.EmbeddingLength);
        Assert.Equal(a.TowerOutput, b.TowerOutput);
        Assert.Equal(a.Embeddings, b.Embeddings);
        Assert.All(a.Embeddings, v => Assert.True(float.IsFinite(v)));
    }

    double[] ReferenceBlock(int index, double[] x, int w, int heads)
    {
        var b = $"v.blk.{index}.";
        var n = x.Length / w;
        var d = w / heads;
        var h = LayerNorm(x, w, Weights(b + "ln1.weight"), Weights(b + "ln1.bias"));
        var q = Linear(h, w, Weights(b + "attn_q.weight"), Weights(b + "attn_q.bias"));
        var k = Linear(h, w, Weights(b + "attn_k.weight"), Weights(b + "attn_k.bias"));
        var v = Linear(h, w, Weights(b + "attn_v.weight"), Weights(b + "attn_v.bias"));
        var attention = new double[n * w];
        for (var head = 0; head < heads; head++)
        {
            for (var i = 0; i < n; i++)
            {
                var scores = new double[n];
                for (var j = 0; j < n; j++)
                {
                    for (var e = 0; e < d; e++)
                    {
                        scores[j] += q[(i * w) + (head * d) + e] * k[(j * w) + (head * d) + e];
                    }
                    scores[j] /= Math.Sqrt(d);
                }
                var max = scores.Max();
                var exps = scores.Select(s => Math.Exp(s - max)).ToArray();
                var total = exps.Sum();
                for (var e = 0; e < d; e++)
                {
                    double sum = 0;
                    for (var j = 0; j < n; j++)
                    {
                        sum += exps[j] / total * v[(j * w) + (head * d) + e];
                    }
                    attention[(i * w) + (head * d) + e] = sum;
                }
            }
        }
        var output = Linear(attention, w, Weights(b + "attn_out.weight"), Weights(b + "attn_out.bias"));
        var residual = output.Select((o, i) => o + x[i]).ToArray();
        h = LayerNorm(residual, w, Weights(b + "ln2.weight"), Weights(b + "ln2.bias"));
        var up = Linear(h, w, Weights(b + "ffn_up.weight"), Weights(b + "ffn_up.bias"));
        up = [.. up.Select(u => 0.5 * u * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (u + (0.044715 * u * u * u)))))];
        var down = Linear(up, up.Length / n, Weights(b + "ffn_down.weight"), Weights(b + "ffn_down.bias"));
        return [.. down.Select((o, i) => o + residual[i])];
    }

    static double[] LayerNorm(double[] x, int w, double[] weight, double[] bias)
    {
        var y = new double[x.Length];
        for (var t = 0; t < x.Length / w; t++)
        {
            var row = x.AsSpan(t * w, w).ToArray();
            var mean = row.Average();
            var variance = row.Select(v => (v - mean) * (v - mean)).Average();
            for (var i = 0; i < w; i++)
            {
                y[(t * w) + i] = ((row[i] - mean) / Math.Sqrt(variance + 1e-6) * weight[i]) + bias[i];
            }
        }
        return y;
    }

    static double[] Linear(double[] x, int columns, double[] weight, double[] bias)
    {
        var rows = bias.Length;
        var n = x.Length / columns;
        var y = new double[n * rows];
        for (var t = 0; t < n; t++)
        {
            for (var r = 0; r < rows; r++)
            {
                var sum = bias[r];
                for (var c = 0; c < columns; c++)
                {
                    sum += weight[(r * columns) + c] * x[(t * columns) + c];
                }
                y[(t * rows) + r] = sum;
            }
        }
        return y;
    }

    static void AssertClose(double[] expected, float[] actual, double maxDelta, double minCosine)
    {
        Assert.Equal(expected.Length, actual.Length);
        var delta = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        double dot = 0, ee = 0, aa = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            dot += expected[i] * actual[i];
            ee += expected[i] * expected[i];
            aa += (double)actual[i] * actual[i];
        }
        var cosine = dot / Math.Sqrt(ee * aa);
        Assert.True(delta <= maxDelta && cosine >= minCosine, $"max |Δ| {delta:E3}, cosine {cosine:F8}");
    }
}
