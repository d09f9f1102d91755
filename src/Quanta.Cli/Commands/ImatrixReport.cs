using System.Globalization;
using System.Text.Json;
using Quanta.Cli.Rendering;
using Quanta.Formats.Gguf;
using Quanta.Formats.Imatrix;

namespace Quanta.Cli.Commands;

/// <summary>
/// What <c>quanta inspect</c> shows for an importance matrix (a GGUF imatrix or a legacy <c>.dat</c>): the
/// format, the chunk count and size, the datasets, and per entry its columns, matrices, token count (GGUF) or
/// call count (.dat) and the mean of its column weights, as llama-quantize would compute them.
/// </summary>
internal static class ImatrixReport
{
    /// <summary>Whether <paramref name="path"/> is an importance matrix rather than a model: not a GGUF file, or a GGUF whose general.type is imatrix.</summary>
    public static bool IsImatrix(string path)
    {
        if (!ImatrixDatFile.IsGguf(path))
        {
            // A .dat has no magic: a file that is not GGUF is taken for one when it is named so or reads as one;
            // anything else goes on to the GGUF reader and its error.
            if (path.EndsWith(".dat", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
            try
            {
                ImatrixDatFile.Read(path);
                return true;
            }
            catch (ImatrixFormatException)
            {
                return false;
            }
        }
        using var file = GgufFile.Open(path);
        return file.Metadata.LenientString("general.type") == ImportanceMatrix.GgufType;
    }

    sealed record Row(string Name, int Columns, int Matrices, long Count, double MeanWeight);

    public static void Write(CliContext context, string path, bool json)
    {
        string format;
        int chunks;
        int? chunkSize;
        IReadOnlyList<string> datasets;
        var rows = new List<Row>();
        if (ImatrixDatFile.IsGguf(path))
        {
            var matrix = ImportanceMatrix.ReadGguf(path);
            (format, chunks, chunkSize, datasets) = ("GGUF imatrix", matrix.ChunkCount, matrix.ChunkSize, matrix.Datasets);
            foreach (var e in matrix.Entries)
            {
                double sum = 0;
                for (var i = 0; i < e.SquaredSums.Length; i++)
                {
                    var count = e.Counts[i / e.Columns];
                    sum += count > 0 ? e.SquaredSums[i] / (double)count : 1;
                }
                rows.Add(new Row(e.Name, e.Columns, e.MatrixCount, e.Counts.Sum(), sum / e.SquaredSums.Length));
            }
        }
        else
        {
            var dat = ImatrixDatFile.Read(path);
            (format, chunks, chunkSize, datasets) = ("legacy imatrix (.dat)", dat.LastCall ?? 0, null, dat.Dataset is { } d ? [d] : []);
            foreach (var e in dat.Entries.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                var calls = Math.Max(e.Calls, 1);
                rows.Add(new Row(e.Name, e.Values.Length, 1, e.Calls, e.Values.Sum(v => (double)v) / calls / e.Values.Length));
            }
        }
        if (json)
        {
            var document = new
            {
                file = path,
                format = format.StartsWith("GGUF", StringComparison.Ordinal) ? "gguf" : "dat",
                chunk_count = chunks,
                chunk_size = chunkSize,
                datasets,
                entries = rows.Select(r => new { name = r.Name, columns = r.Columns, matrices = r.Matrices, count = r.Count, mean_weight = r.MeanWeight }),
            };
            context.Out.Write(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
            context.Out.Write('\n');
            return;
        }
        var report = context.CreateReportWriter();
        var fields = new List<KeyValuePair<string, string>>
        {
            new("File", path),
            new("Format", format),
            new("Entries", rows.Count.ToString(CultureInfo.InvariantCulture)),
            new("Chunks", chunks.ToString(CultureInfo.InvariantCulture)),
        };
        if (chunkSize is { } size)
        {
            fields.Add(new("Chunk size", size.ToString(CultureInfo.InvariantCulture)));
        }
        fields.Add(new("Datasets", datasets.Count == 0 ? "(none)" : string.Join(", ", datasets)));
        report.WriteFields(fields);
        var table = new TextTable($"Entries ({rows.Count})",
            new TextColumn("NAME"), new TextColumn("COLUMNS", AlignRight: true), new TextColumn("MATRICES", AlignRight: true),
            new TextColumn(format.StartsWith("GGUF", StringComparison.Ordinal) ? "TOKENS" : "CALLS", AlignRight: true),
            new TextColumn("MEAN WEIGHT", AlignRight: true));
        foreach (var r in rows)
        {
            table.AddRow(r.Name, r.Columns.ToString(CultureInfo.InvariantCulture), r.Matrices.ToString(CultureInfo.InvariantCulture),
                r.Count.ToString(CultureInfo.InvariantCulture), r.MeanWeight.ToString("G6", CultureInfo.InvariantCulture));
        }
        report.WriteTable(table);
    }
}
