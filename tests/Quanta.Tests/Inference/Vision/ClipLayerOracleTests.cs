using Quanta.Formats.Gguf;
using Quanta.Inference.Vision;

namespace Quanta.Tests.Inference.Vision;

/// <summary>
/// The first encoder block of the tiny F16 LLaVA tower (<c>llava15-f16</c> of <see cref="LlavaOracleTests"/>)
/// piece by piece against llama.cpp's February 2025 clip graph, bit for bit. Fixtures/vision/clip-layers holds graph
/// nodes dumped from a copy of that <c>examples/llava/clip.cpp</c> changed in three ways only: every node is marked
/// <c>ggml_set_output</c> when <c>CLIP_DUMP</c> is set (in <c>clip_image_build_graph</c>, so the allocator keeps them
/// all), every contiguous F32 node is written after <c>ggml_backend_graph_compute</c>, and the in-place
/// <c>scale</c>/<c>soft_max</c>/<c>gelu</c> are their out-of-place twins (same arithmetic, their inputs survive).
/// It was linked to the oracle's <c>libggml*.so</c> (GCC, <c>-O3 -march=native</c>, AVX-512) and driven by
/// Fixtures/vision/clip_dump_harness.cpp with one thread. Layouts are ggml's: <c>k</c>, <c>q</c>
/// <c>[head][position][16]</c> (q already scaled by 1/√16), <c>v</c> <c>[head][16][position]</c>,
/// <c>kq</c>/<c>softmax</c> <c>[head][query][key]</c>, <c>kqv</c> <c>[head][query][16]</c>, block input/output
/// <c>[position][64]</c>; 17 positions, 4 heads.
/// </summary>
public sealed class ClipLayerOracleTests
{
    const int Positions = 17;
    const int Heads = 4;
    const int HeadWidth = 16;

    static float[] Node(string name) =>
        LlavaOracleTests.ReadFloats(Path.Combine(AppContext.BaseDirectory, "Fixtures", "vision", "clip-layers", $"block0.{name}.f32"));

    [Fact]
    public void Attention_scores_are_ggml_vec_dot_f32_of_the_avx512_build()
    {
        // 17 keys is not a multiple of 4, so tinyBLAS refuses K·Q and ggml_vec_dot_f32 takes each 16-element row:
        // no whole 64-element step, so GCC's vectorised leftover loop (16 rounded products added in order).
        var k = Node("k");
        var q = Node("q");
        var expected = Node("kq");
        Assert.False(VisionModel.TinyBlasTakes(rows: Positions, length: HeadWidth, tokens: Positions));
        var differing = 0;
        var fused = 0;
        for (var h = 0; h < Heads; h++)
        {
            for (var qi = 0; qi < Positions; qi++)
            {
                for (var ki = 0; ki < Positions; ki++)
                {
                    var key = k.AsSpan(((h * Positions) + ki) * HeadWidth, HeadWidth);
                    var query = q.AsSpan(((h * Positions) + qi) * HeadWidth, HeadWidth);
                    var want = expected[(((h * Positions) + qi) * Positions) + ki];
                    differing += Avx512VecDotOrder.Dot(key, query) == want ? 0 : 1;
                    var f = 0f;
                    for (var i = 0; i < HeadWidth; i++)
                    {
                        f = MathF.FusedMultiplyAdd(key[i], query[i], f);
                    }
                    fused += f == want ? 0 : 1;
                }
            }
        }
        Assert.Equal(0, differing);
        // The order matters: fused multiply-adds (what the scalar source reads like) miss many of them.
        Assert.True(fused > 100, $"{fused} fused sums differ");
    }

    [Fact]
    public void Soft_max_is_ggml_soft_max_of_the_avx512_build()
    {
        var scores = Node("kq");
        var expected = Node("softmax");
        for (var row = 0; row < Heads * Positions; row++)
        {
            ClipSoftMax.Apply(scores.AsSpan(row * Positions, Positions));
        }
        Assert.Equal(expected, scores);
    }

    [Fact]
    public void Values_times_probabilities_are_ggml_vec_dot_f32_of_the_avx512_build()
    {
        // V·P: rows of 17 (16 rounded products in order, then one fused multiply-add).
        var v = Node("v");
        var p = Node("softmax");
        var expected = Node("kqv");
        var actual = new float[expected.Length];
        for (var h = 0; h < Heads; h++)
        {
            for (var qi = 0; qi < Positions; qi++)
            {
                for (var i = 0; i < HeadWidth; i++)
                {
                    actual[(((h * Positions) + qi) * HeadWidth) + i] = Avx512VecDotOrder.Dot(
                        v.AsSpan(((h * HeadWidth) + i) * Positions, Positions), p.AsSpan(((h * Positions) + qi) * Positions, Positions));
                }
            }
        }
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void The_first_block_is_clip_cpp_s_bit_for_bit()
    {
        using var directory = new TempDirectory();
        var (modelPath, _) = LlavaOracleTests.WriteInputs("llava15-f16", directory.Path);
        using var file = GgufFile.Open(modelPath);
        using var model = VisionModel.Open(file, threads: 2);
        Assert.Equal(Node("out"), model.Block(0, Node("in")));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(128)]
    [InlineData(576)]
    [InlineData(4096)]
    public unsafe void The_vec_dot_steps_are_the_same_with_512_bit_256_bit_and_scalar_registers(int n)
    {
        var random = new Random(n);
        var x = Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        var y = Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        fixed (float* px = x, py = y)
        {
            var scalar = Avx512VecDotOrder.StepsScalar(px, py, n);
            Assert.Equal(scalar, Avx512VecDotOrder.Steps512(px, py, n));
            Assert.Equal(scalar, Avx512VecDotOrder.Steps256(px, py, n));
        }
    }

    [Fact]
    public void The_projector_gelu_is_ggml_s_table_as_gcc_built_it()
    {
        // LLaVA 1.6's third tile (llava16-f16, the harness's third clip_image_encode): mm.0's output and its GELU. One
        // input rounds to half 0xBFFF (−1.99902), the one table entry GCC's fused multiply-add changes.
        var input = LlavaOracleTests.ReadFloats(Path.Combine(AppContext.BaseDirectory, "Fixtures", "vision", "clip-layers", "llava16-tile2.gelu-in.f32"));
        var expected = LlavaOracleTests.ReadFloats(Path.Combine(AppContext.BaseDirectory, "Fixtures", "vision", "clip-layers", "llava16-tile2.gelu-out.f32"));
        Assert.Contains(input, v => Quanta.Formats.Fp16.FromFloat(v) == 0xBFFF);
        Quanta.Inference.Kernels.Activations.Gelu(input);
        Assert.Equal(expected, input);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(24)]
    [InlineData(31)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(88)]
    [InlineData(577)]
    public void The_vec_dot_order_is_its_steps_then_the_compiled_leftover_loop(int n)
    {
        var random = new Random(n);
        var x = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var y = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        // The specification written out: 64 lanes of fused sums folded (0+2)+(1+3) then halved, then chunks of 16
        // and 8 rounded products added in order, then fused multiply-adds.
        var lanes = new float[64];
        var whole = n - (n % 64);
        for (var i = 0; i < whole; i++)
        {
            lanes[i % 64] = MathF.FusedMultiplyAdd(x[i], y[i], lanes[i % 64]);
        }
        var r = new float[16];
        for (var l = 0; l < 16; l++)
        {
            r[l] = (lanes[l] + lanes[32 + l]) + (lanes[16 + l] + lanes[48 + l]);
        }
        for (var half = 8; half >= 1; half /= 2)
        {
            for (var l = 0; l < half; l++)
            {
                r[l] += r[l + half];
            }
        }
        var sum = r[0];
        var at = whole;
        while (n - at >= 16)
        {
            for (var end = at + 16; at < end; at++)
            {
                sum += x[at] * y[at];
            }
        }
        if (n - at >= 8)
        {
            for (var end = at + 8; at < end; at++)
            {
                sum += x[at] * y[at];
            }
        }
        for (; at < n; at++)
        {
            sum = MathF.FusedMultiplyAdd(x[at], y[at], sum);
        }
        Assert.Equal(sum, Avx512VecDotOrder.Dot(x, y));
    }
}
