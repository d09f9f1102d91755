using System.Globalization;
using Quanta.Formats.Imatrix;
using Quanta.Inference.Imatrix;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta imatrix --show-statistics --in-file FILE</c>: llama-imatrix's tensor and per-layer statistics tables
/// (tools/imatrix/imatrix.cpp, 2026, <c>show_statistics</c>), column for column and in its printf formats. llama.cpp
/// logs them to stderr; Quanta prints them on stdout, as the command's result.
/// </summary>
internal static class ImatrixStatisticsReport
{
    public static void Write(CliContext context, string path, ImportanceMatrix matrix)
    {
        var tensors = ImportanceMatrixStatistics.Tensors(matrix);
        if (tensors.Count == 0)
        {
            throw new UserErrorException($"cannot compute statistics for {path}");
        }
        var o = context.Out;
        o.Write(F($"\nComputing statistics for {path} ({tensors.Count} tensors)\n"));
        o.Write(string.Join('\t', " Layer", "       Tensor", "          Σ(Act²)", "  Min", "            Max", "           μ", "   σ", " % Active", "N",
            "   Entropy", "E (norm)", "ZD", "  CosSim").Insert(0, "\n") + "\n");
        o.Write(new string('=', 110 + 59) + "\n");
        foreach (var t in tensors)
        {
            var (layer, name) = t.ShortName();
            // std::log2(int) is the double overload, so the normalised entropy is a double.
            var normalised = 100.0f * (t.Entropy / Math.Log2(t.Elements));
            o.Write(string.Join('\t',
                Right(layer, 5), name.PadRight(20), Fixed(t.TotalSquaredActivation, 10, 2), Fixed(t.Min, 8, 4), Fixed(t.Max, 11, 4),
                Fixed(t.Mean, 6, 2), Fixed(t.StandardDeviation, 6, 2), Fixed(t.ActiveShare * 100.0f, 8, 2) + "%",
                Right(t.Elements.ToString(CultureInfo.InvariantCulture), 6), Fixed(t.Entropy, 10, 4), Fixed(normalised, 6, 2) + "%",
                Fixed(100.0f * t.ZScoreShare, 10, 2) + "%", Fixed(t.CosineSimilarity, 8, 4)) + "\n");
        }
        o.Write(F($"\nComputing weighted average statistics per layer ({ImportanceMatrixStatistics.BlockCount(tensors)} layers)\n"));
        o.Write("\n" + string.Join('\t', "  Layer", "     μΣ(Act²)", "      μZD", "μCosSim") + "\n");
        o.Write(new string('=', 48) + "\n");
        foreach (var l in ImportanceMatrixStatistics.Layers(tensors))
        {
            o.Write(string.Join('\t', Right(l.Layer.ToString(CultureInfo.InvariantCulture), 5), Fixed(l.TotalSquaredActivation, 14, 2),
                Fixed(100.0f * l.ZScoreShare, 10, 4) + "%", Fixed(l.CosineSimilarity, 6, 4)) + "\n");
        }
        o.Write("\n");
    }

    static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    static string Right(string s, int width) => s.PadLeft(width);

    /// <summary>printf's <c>%W.Pf</c> of a float (promoted to double, as C's varargs promote it).</summary>
    static string Fixed(double value, int width, int precision) =>
        (double.IsNaN(value) ? (BitConverter.DoubleToInt64Bits(value) < 0 ? "-nan" : "nan")
            : double.IsInfinity(value) ? (value < 0 ? "-inf" : "inf")
            : value.ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)).PadLeft(width);
}
