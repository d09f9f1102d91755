using System.Text.RegularExpressions;
using Quanta.Formats.Imatrix;

namespace Quanta.Inference.Imatrix;

/// <summary>
/// One weight's statistics as <c>llama-imatrix --show-statistics</c> computes them (tools/imatrix/imatrix.cpp,
/// 2026, <c>compute_statistics</c> and <c>compute_cossim</c>): over its mean squared activations (each column's
/// sum divided by its matrix's count), the total, extremes, mean, standard deviation, the share above 1e-5 in
/// magnitude, the entropy of their distribution, the share more than one deviation above the mean, and the
/// cosine similarity of its raw sums with the same weight one block earlier (0 where there is none).
/// </summary>
public sealed record ImportanceTensorStatistics(
    string Tensor, float TotalSquaredActivation, float Min, float Max, float Mean, float StandardDeviation, float ActiveShare,
    int Elements, float Entropy, float ZScoreShare, float CosineSimilarity)
{
    /// <summary>llama.cpp's <c>process_tensor_name</c>: the part after <c>blk</c> (or "-") and the part before <c>weight</c> (or the whole name).</summary>
    public (string Layer, string Name) ShortName()
    {
        var parts = Tensor.Split('.');
        var layer = "";
        var name = "";
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i] == "blk" && i + 1 < parts.Length)
            {
                layer = parts[i + 1];
                break;
            }
        }
        for (var i = 1; i < parts.Length; i++)
        {
            if (parts[i] == "weight")
            {
                name = parts[i - 1];
                break;
            }
        }
        return (layer.Length == 0 ? "-" : layer, name.Length == 0 ? Tensor : name);
    }

    /// <summary>The block number, or −1 for a weight outside the blocks (llama.cpp's failed <c>stoi</c>).</summary>
    public int Block => int.TryParse(ShortName().Layer, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var b) ? b : -1;
}

/// <summary>A block's statistics weighted by element count: mean total squared activation, z-score share and cosine similarity.</summary>
public sealed record ImportanceLayerStatistics(int Layer, float TotalSquaredActivation, float ZScoreShare, float CosineSimilarity);

/// <summary>
/// <c>llama-imatrix --show-statistics</c>'s numbers, in its single-precision arithmetic and its order (sums from
/// the first column on, no fused multiply-add), so the printed figures are llama.cpp's.
/// </summary>
public static partial class ImportanceMatrixStatistics
{
    /// <summary>
    /// Every entry's statistics, sorted as llama.cpp prints them: by short name (<c>attn_k</c>, <c>ffn_down</c>,
    /// …), then by total squared activation, largest first.
    /// </summary>
    public static IReadOnlyList<ImportanceTensorStatistics> Tensors(ImportanceMatrix matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        var raw = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var list = new List<ImportanceTensorStatistics>();
        foreach (var e in matrix.Entries.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (e.Counts.Length == 0 || e.SquaredSums.Length % e.Counts.Length != 0)
            {
                continue;
            }
            list.Add(Of(e));
            raw[e.Name] = e.SquaredSums;
        }
        for (var i = 0; i < list.Count; i++)
        {
            list[i] = list[i] with { CosineSimilarity = CosineWithPreviousBlock(list[i].Tensor, raw) };
        }
        return
        [
            .. list.Order(Comparer<ImportanceTensorStatistics>.Create((a, b) =>
            {
                var byName = string.CompareOrdinal(a.ShortName().Name, b.ShortName().Name);
                return byName != 0 ? byName : b.TotalSquaredActivation.CompareTo(a.TotalSquaredActivation);
            })),
        ];
    }

    /// <summary>Per block (in order, blocks only), the element-weighted means llama.cpp prints after the tensors, summed in the tensors' printed order.</summary>
    public static IReadOnlyList<ImportanceLayerStatistics> Layers(IReadOnlyList<ImportanceTensorStatistics> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var sums = new SortedDictionary<int, (float Bias, float Zd, float Cossim, int Elements)>();
        foreach (var t in tensors)
        {
            var bias = t.Elements * t.TotalSquaredActivation;
            var zd = t.Elements * t.ZScoreShare;
            var cossim = t.Elements * t.CosineSimilarity;
            sums[t.Block] = sums.TryGetValue(t.Block, out var s)
                ? (s.Bias + bias, s.Zd + zd, s.Cossim + cossim, s.Elements + t.Elements)
                : (bias, zd, cossim, t.Elements);
        }
        return
        [
            .. sums.Where(kv => kv.Key >= 0 && kv.Value.Elements != 0)
                .Select(kv => new ImportanceLayerStatistics(kv.Key, kv.Value.Bias / kv.Value.Elements, kv.Value.Zd / kv.Value.Elements, kv.Value.Cossim / kv.Value.Elements)),
        ];
    }

    /// <summary>How many blocks the layer table covers (llama.cpp counts every block seen, even one with no elements).</summary>
    public static int BlockCount(IReadOnlyList<ImportanceTensorStatistics> tensors) => tensors.Select(t => t.Block).Where(b => b >= 0).Distinct().Count();

    static ImportanceTensorStatistics Of(ImportanceMatrixEntry e)
    {
        var matrices = e.Counts.Length;
        var row = e.SquaredSums.Length / matrices;
        var activations = new float[e.SquaredSums.Length];
        for (var i = 0; i < matrices; i++)
        {
            for (var j = 0; j < row; j++)
            {
                activations[i * row + j] = e.SquaredSums[i * row + j] / e.Counts[i];
            }
        }
        var n = activations.Length;
        float total = 0;
        float squares = 0;
        var max = activations[0];
        var min = activations[0];
        var inactive = 0;
        foreach (var a in activations)
        {
            total += a;
            squares += a * a;
            // std::max_element / std::min_element: the first of the largest / smallest.
            if (max < a)
            {
                max = a;
            }
            if (a < min)
            {
                min = a;
            }
            if (MathF.Abs(a) <= 1e-5f)
            {
                inactive++;
            }
        }
        var mean = total / n;
        var variance = squares / n - mean * mean;
        // std::max(0.0f, v): 0 unless 0 < v (so NaN gives 0).
        var deviation = MathF.Sqrt(0f < variance ? variance : 0f);
        var active = 1 - (float)inactive / n;
        float entropy = 0;
        if (total > 0)
        {
            foreach (var a in activations)
            {
                var p = a / total;
                if (p > 0)
                {
                    entropy -= p * MathF.Log2(p);
                }
            }
        }
        var above = 0;
        if (deviation > 0)
        {
            foreach (var a in activations)
            {
                if ((a - mean) / deviation > 1)
                {
                    above++;
                }
            }
        }
        return new ImportanceTensorStatistics(e.Name, total, min, max, mean, deviation, active, n, entropy, (float)above / n, 0);
    }

    /// <summary>
    /// <c>compute_cossim</c>: the cosine of the raw squared sums with those of the same name one block earlier
    /// (<c>blk.N.</c> → <c>blk.N-1.</c>), each product summed in order in single precision; 0 without one.
    /// </summary>
    static float CosineWithPreviousBlock(string name, Dictionary<string, float[]> raw)
    {
        var match = BlockPattern().Match(name);
        if (!match.Success)
        {
            return 0;
        }
        var block = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var previousName = string.Concat(name.AsSpan(0, match.Groups[1].Index), (block - 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            name.AsSpan(match.Groups[1].Index + match.Groups[1].Length));
        if (!raw.TryGetValue(previousName, out var previous) || previous.Length != raw[name].Length)
        {
            return 0;
        }
        var current = raw[name];
        float dot = 0, currentSquares = 0, previousSquares = 0;
        for (var i = 0; i < current.Length; i++)
        {
            dot += current[i] * previous[i];
        }
        for (var i = 0; i < current.Length; i++)
        {
            currentSquares += current[i] * current[i];
        }
        for (var i = 0; i < previous.Length; i++)
        {
            previousSquares += previous[i] * previous[i];
        }
        return dot / (MathF.Sqrt(currentSquares) * MathF.Sqrt(previousSquares));
    }

    [GeneratedRegex(@"blk\.(\d+)\.")]
    private static partial Regex BlockPattern();
}
