using Quanta.Formats.Gguf;
using Quanta.Formats.Images;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Vision;

/// <summary>
/// What a picture becomes: <see cref="Tokens"/> rows of <see cref="EmbeddingLength"/> floats for the language
/// model (the projector's output, in the order the template's image tokens take them), and the tower's own output
/// before the projector (every tile's patch rows, class token included where the tower has one).
/// </summary>
/// <param name="GridColumns">LLaVA 1.6: the tiles' grid after the whole-picture tile (0 for one tile).</param>
public sealed record VisionEmbedding(float[] Embeddings, int Tokens, int EmbeddingLength, float[] TowerOutput, int TowerTokens, int TowerWidth,
    int GridColumns = 0, int GridRows = 0);

/// <summary>
/// A vision tower and its projector, run on the CPU with Inference's kernels, as llama.cpp's clip graph does:
/// LLaVA's CLIP ViT (class token, pre-norm, the blocks up to the feature layer, <c>mm.0</c> → GELU → <c>mm.2</c>)
/// and Gemma 3's SigLIP (no class token, post-norm, 4×4 average pooling, <c>mm.soft_emb_norm</c>,
/// <c>mm.input_projection</c>). Linear layers go through <see cref="MatMul"/> (activations converted to the weight
/// type's <c>vec_dot_type</c>); attention takes ggml's F32 products and <c>soft_max</c>; norms and GELU are ggml's.
/// The GGUF stays the caller's and must stay open while the model is used.
/// </summary>
public sealed class VisionModel : IDisposable
{
    readonly VisionTensors _tensors;
    readonly WorkerPool _pool;
    readonly MatMul _matMul;
    readonly int _threads;

    VisionModel(GgufFile file, VisionHyperparameters parameters, int threads)
    {
        Parameters = parameters;
        _tensors = new VisionTensors(file, parameters);
        _threads = Math.Max(1, threads);
        _pool = new WorkerPool(_threads);
        _matMul = new MatMul(_pool, KernelWidths.Current);
    }

    public VisionHyperparameters Parameters { get; }

    /// <summary>The language model's width the projector writes.</summary>
    public int EmbeddingLength => _tensors.EmbeddingLength;

    /// <summary>Opens the tower in <paramref name="file"/> (a clip projector file or a single gemma3 file).</summary>
    /// <exception cref="GgufFormatException">No vision tower, or one Quanta does not run.</exception>
    public static VisionModel Open(GgufFile file, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(file);
        var parameters = VisionHyperparameters.Read(file);
        return new VisionModel(file, parameters, threads > 0 ? threads : Environment.ProcessorCount);
    }

    /// <summary>Preprocesses, encodes and projects <paramref name="image"/>.</summary>
    public VisionEmbedding Encode(RgbImage image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var p = Parameters;
        var prepared = VisionPreprocessor.Prepare(image, p);
        var anyResolution = p.Projector == VisionProjectorType.LlavaMlp && p.PatchMergeType == "spatial_unpad" && prepared.Tiles.Count > 1;
        // A flat LLaVA encodes the first tile only (a square picture with pinpoints gets tiles but they go unused).
        var tiles = anyResolution ? prepared.Tiles : [prepared.Tiles[0]];
        var towers = new List<float[]>();
        var projected = new List<float[]>();
        foreach (var tile in tiles)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var tower = Tower(tile, cancellationToken);
            towers.Add(tower);
            projected.Add(Project(tower));
        }
        var tokensPerTile = p.TokensPerTile;
        var e = EmbeddingLength;
        var embeddings = anyResolution ? ArrangeGrid(projected, prepared.GridColumns, prepared.GridRows, tokensPerTile, e) : projected[0];
        var towerOutput = towers.SelectMany(t => t).ToArray();
        var towerTokens = towerOutput.Length / p.Width;
        return anyResolution
            ? new VisionEmbedding(embeddings, embeddings.Length / e, e, towerOutput, towerTokens, p.Width, prepared.GridColumns, prepared.GridRows)
            : new VisionEmbedding(embeddings, embeddings.Length / e, e, towerOutput, towerTokens, p.Width);
    }

    /// <summary>
    /// This model's projector applied to another path's tower output (same shape): <c>vision-check</c> tells the
    /// tower's loss from the projector's by running the quantized tower through the base projector.
    /// </summary>
    public float[] ProjectTowerOutput(VisionEmbedding embedding)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        var p = Parameters;
        var perTile = (p.Patches + (_tensors.ClassEmbedding is null ? 0 : 1)) * p.Width;
        if (embedding.TowerWidth != p.Width || embedding.TowerOutput.Length % perTile != 0)
        {
            throw new InvalidOperationException($"a tower output of {embedding.TowerTokens} × {embedding.TowerWidth} does not fit this tower ({perTile / p.Width} × {p.Width} per tile)");
        }
        var projected = new List<float[]>();
        for (var at = 0; at < embedding.TowerOutput.Length; at += perTile)
        {
            projected.Add(Project(embedding.TowerOutput.AsSpan(at, perTile).ToArray()));
        }
        return projected.Count == 1 ? projected[0] : ArrangeGrid(projected, embedding.GridColumns, embedding.GridRows, p.TokensPerTile, EmbeddingLength);
    }

    /// <summary>
    /// llava.cpp's <c>clip_llava_handle_patches</c> without unpadding: the whole-picture tile's tokens, then the
    /// grid's tokens row by row across tiles (each tile's patch row continued by its right neighbour's).
    /// </summary>
    static float[] ArrangeGrid(List<float[]> projected, int columns, int rows, int tokensPerTile, int e)
    {
        var side = (int)Math.Round(Math.Sqrt(tokensPerTile));
        var result = new float[projected.Sum(t => t.Length)];
        projected[0].CopyTo(result, 0);
        var at = projected[0].Length;
        for (var gy = 0; gy < rows; gy++)
        {
            for (var py = 0; py < side; py++)
            {
                for (var gx = 0; gx < columns; gx++)
                {
                    var tile = projected[1 + (gy * columns) + gx];
                    Array.Copy(tile, (long)py * side * e, result, at, (long)side * e);
                    at += side * e;
                }
            }
        }
        return result;
    }

    /// <summary>Patch embeddings (+ class token) + positions, then pre-norm, blocks and post-norm: <c>[positions][Width]</c>.</summary>
    internal float[] Tower(float[] tile, CancellationToken cancellationToken = default)
    {
        var hidden = Embeddings(tile);
        var positions = hidden.Length / Parameters.Width;
        if (_tensors.PreNormWeight is not null)
        {
            NormRows(hidden, positions, _tensors.PreNormWeight, _tensors.PreNormBias);
        }
        for (var i = 0; i < _tensors.Blocks.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            hidden = Block(i, hidden);
        }
        if (_tensors.PostNormWeight is not null)
        {
            NormRows(hidden, positions, _tensors.PostNormWeight, _tensors.PostNormBias);
        }
        return hidden;
    }

    /// <summary>
    /// <c>ggml_conv_2d</c> of the tile with the patch kernel (<c>im2col</c> to the kernel's type, then its product),
    /// the patch bias, the class token in front, then the learned position rows: <c>[positions][Width]</c>.
    /// </summary>
    internal float[] Embeddings(float[] tile)
    {
        var p = Parameters;
        var size = p.ImageSize;
        var patch = p.PatchSize;
        var perSide = p.PatchesPerSide;
        var columns = 3 * patch * patch;
        if (tile.Length != 3 * size * size)
        {
            throw new ArgumentException($"a tile of {tile.Length} floats is not {size} × {size} × 3", nameof(tile));
        }
        var im2col = new float[p.Patches * columns];
        for (var py = 0; py < perSide; py++)
        {
            for (var px = 0; px < perSide; px++)
            {
                var row = ((py * perSide) + px) * columns;
                for (var c = 0; c < 3; c++)
                {
                    for (var ky = 0; ky < patch; ky++)
                    {
                        for (var kx = 0; kx < patch; kx++)
                        {
                            var y = (py * patch) + ky;
                            var x = (px * patch) + kx;
                            im2col[row + (((c * patch) + ky) * patch) + kx] = tile[(3 * ((y * size) + x)) + c];
                        }
                    }
                }
            }
        }
        var w = p.Width;
        var patches = new float[p.Patches * w];
        // ggml_conv_2d multiplies im2col (the patches as rows) by the kernel (the width as tokens).
        _tensors.PatchKernel.Multiply(im2col, p.Patches, patches, _threads, tokensAreTinyBlasRows: true);
        if (_tensors.PatchBias is { } bias)
        {
            for (var t = 0; t < p.Patches; t++)
            {
                AddInPlace(patches.AsSpan(t * w, w), bias);
            }
        }
        var classToken = _tensors.ClassEmbedding;
        var positions = p.Patches + (classToken is null ? 0 : 1);
        var hidden = new float[positions * w];
        if (classToken is not null)
        {
            classToken.CopyTo(hidden, 0);
            patches.CopyTo(hidden, w);
        }
        else
        {
            patches.CopyTo(hidden, 0);
        }
        AddInPlace(hidden, _tensors.PositionEmbedding.AsSpan(0, positions * w));
        return hidden;
    }

    /// <summary>One pre-norm encoder block: <c>x + attn(ln1(x))</c>, then <c>+ ffn(ln2(·))</c>.</summary>
    internal float[] Block(int index, float[] hidden)
    {
        var block = _tensors.Blocks[index];
        var w = Parameters.Width;
        var positions = hidden.Length / w;
        var normed = (float[])hidden.Clone();
        NormRows(normed, positions, block.Norm1Weight, block.Norm1Bias);
        var q = Linear(block.Query, block.QueryBias, normed, positions);
        var k = Linear(block.Key, block.KeyBias, normed, positions);
        var v = Linear(block.Value, block.ValueBias, normed, positions);
        var scale = 1.0f / MathF.Sqrt(w / Parameters.Heads);
        for (var i = 0; i < q.Length; i++)
        {
            q[i] *= scale;
        }
        var attention = SelfAttention(q, k, v, positions);
        var output = Linear(block.Output, block.OutputBias, attention, positions);
        AddInPlace(output, hidden);
        var residual = output;
        normed = (float[])residual.Clone();
        NormRows(normed, positions, block.Norm2Weight, block.Norm2Bias);
        var up = Linear(block.FeedForwardIn, block.FeedForwardInBias, normed, positions);
        if (Parameters.UseGelu)
        {
            Activations.Gelu(up);
        }
        else
        {
            Activations.GeluQuick(up);
        }
        var down = Linear(block.FeedForwardOut, block.FeedForwardOutBias, up, positions);
        // ggml_add(residual, cur): residual first.
        for (var i = 0; i < down.Length; i++)
        {
            down[i] = residual[i] + down[i];
        }
        return down;
    }

    /// <summary>
    /// Full (non-causal) attention per head as clip.cpp builds it: <c>K·Q</c> as F32 products, ggml's
    /// <c>soft_max</c> (<see cref="ClipSoftMax"/>), then <c>V·P</c> with V transposed. Each product is a
    /// <c>mul_mat</c> whose order depends on its shape (<see cref="FloatDot"/>).
    /// </summary>
    float[] SelfAttention(float[] q, float[] k, float[] v, int positions)
    {
        var w = Parameters.Width;
        var heads = Parameters.Heads;
        var d = w / heads;
        var output = new float[positions * w];
        // mul_mat(K, Q): K's positions are the rows, the head width the row length; mul_mat(V, P): V's d rows of
        // positions.
        var scoresByTinyBlas = TinyBlasTakes(rows: positions, length: d, tokens: positions);
        var valuesByTinyBlas = TinyBlasTakes(rows: d, length: positions, tokens: positions);
        Parallel.For(0, heads, new ParallelOptions { MaxDegreeOfParallelism = _threads }, h =>
        {
            var keys = new float[positions * d];
            var queries = new float[positions * d];
            var valuesTransposed = new float[d * positions];
            for (var t = 0; t < positions; t++)
            {
                for (var i = 0; i < d; i++)
                {
                    keys[(t * d) + i] = k[(t * w) + (h * d) + i];
                    queries[(t * d) + i] = q[(t * w) + (h * d) + i];
                    valuesTransposed[(i * positions) + t] = v[(t * w) + (h * d) + i];
                }
            }
            var scores = new float[positions];
            for (var qi = 0; qi < positions; qi++)
            {
                var query = queries.AsSpan(qi * d, d);
                for (var ki = 0; ki < positions; ki++)
                {
                    scores[ki] = FloatDot(keys.AsSpan(ki * d, d), query, scoresByTinyBlas);
                }
                ClipSoftMax.Apply(scores);
                for (var i = 0; i < d; i++)
                {
                    output[(qi * w) + (h * d) + i] = FloatDot(valuesTransposed.AsSpan(i * positions, positions), scores, valuesByTinyBlas);
                }
            }
        });
        return output;
    }

    /// <summary>
    /// Whether ggml-cpu's F32/F16 <c>mul_mat</c> goes through tinyBLAS (<c>llamafile_sgemm</c>, AVX-512 build): two
    /// or more tokens, a row length that is a multiple of 16 and a row count that is a multiple of 4 (its
    /// <c>matmul</c> has no tile for the rest).
    /// </summary>
    internal static bool TinyBlasTakes(int rows, int length, int tokens) =>
        tokens >= 2 && length % TinyBlas512Order.Lanes == 0 && rows % 4 == 0;

    /// <summary>An F32×F32 <c>mul_mat</c> element: tinyBLAS's order or <c>ggml_vec_dot_f32</c>'s.</summary>
    static float FloatDot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, bool tinyBlas) =>
        tinyBlas ? TinyBlas512Order.Dot(x, y) : Avx512VecDotOrder.Dot(x, y);

    /// <summary>The projector on one tile's tower output: <c>[TokensPerTile][EmbeddingLength]</c>.</summary>
    internal float[] Project(float[] tower)
    {
        var p = Parameters;
        var w = p.Width;
        if (p.Projector == VisionProjectorType.LlavaMlp)
        {
            // The class token is dropped (ggml_get_rows with patches 1..N).
            var first = _tensors.ClassEmbedding is null ? 0 : 1;
            var patches = tower.AsSpan(first * w, p.Patches * w).ToArray();
            var hidden = Linear(_tensors.Projector0!, _tensors.Projector0Bias!, patches, p.Patches);
            Activations.Gelu(hidden);
            return Linear(_tensors.Projector2!, _tensors.Projector2Bias!, hidden, p.Patches);
        }
        var pooled = Pool(tower);
        var tokens = pooled.Length / w;
        for (var t = 0; t < tokens; t++)
        {
            var row = pooled.AsSpan(t * w, w);
            RmsNorm.Apply(row, _tensors.SoftEmbeddingNorm, p.Epsilon, row);
        }
        var projection = _tensors.InputProjection!;
        var result = new float[tokens * projection.Rows];
        projection.Multiply(pooled, tokens, result, _threads);
        return result;
    }

    /// <summary>
    /// <c>ggml_pool_2d</c> (average, kernel = stride = <c>PoolKernel</c>) over the patch grid per channel: the
    /// window summed in float, row by row, then divided by its size. Output tokens row-major.
    /// </summary>
    internal float[] Pool(float[] tower)
    {
        var p = Parameters;
        var w = p.Width;
        var side = p.PatchesPerSide;
        var kernel = p.PoolKernel;
        var outSide = side / kernel;
        var result = new float[outSide * outSide * w];
        for (var oy = 0; oy < outSide; oy++)
        {
            for (var ox = 0; ox < outSide; ox++)
            {
                for (var c = 0; c < w; c++)
                {
                    var sum = 0f;
                    for (var ky = 0; ky < kernel; ky++)
                    {
                        for (var kx = 0; kx < kernel; kx++)
                        {
                            var y = (oy * kernel) + ky;
                            var x = (ox * kernel) + kx;
                            sum += tower[(((y * side) + x) * w) + c];
                        }
                    }
                    result[(((oy * outSide) + ox) * w) + c] = sum / (kernel * kernel);
                }
            }
        }
        return result;
    }

    float[] Linear(VisionMatrix weights, float[] bias, float[] x, int tokens)
    {
        var y = new float[tokens * weights.Rows];
        if (weights.Dense is { } dense)
        {
            dense.Multiply(x, tokens, y, _threads);
        }
        else
        {
            _matMul.Multiply(weights.Quantized!, x, tokens, y);
        }
        for (var t = 0; t < tokens; t++)
        {
            AddInPlace(y.AsSpan(t * weights.Rows, weights.Rows), bias);
        }
        return y;
    }

    void NormRows(float[] x, int rows, float[] weight, float[]? bias)
    {
        var w = Parameters.Width;
        for (var t = 0; t < rows; t++)
        {
            var row = x.AsSpan(t * w, w);
            LayerNorm.Apply(row, weight, bias, Parameters.Epsilon, row);
        }
    }

    static void AddInPlace(Span<float> x, ReadOnlySpan<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            x[i] += y[i];
        }
    }

    public void Dispose() => _pool.Dispose();
}
