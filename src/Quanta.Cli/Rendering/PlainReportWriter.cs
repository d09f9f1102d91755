namespace Quanta.Cli.Rendering;

/// <summary>
/// Reports as plain text for pipes and files: no colour, no box drawing, columns separated by at least two
/// spaces so that one row is one line (<c>grep blk.0</c> works) and fields never wrap at a terminal width
/// that does not exist.
/// </summary>
internal sealed class PlainReportWriter(TextWriter output) : IReportWriter
{
    const string Gap = "  ";
    const string Indent = "  ";
    bool _wroteSection;

    public void WriteFields(IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        BeginSection();
        var width = fields.Count == 0 ? 0 : fields.Max(f => f.Key.Length + 1);
        foreach (var (label, value) in fields)
        {
            output.WriteLine($"{(label + ":").PadRight(width)}{Gap}{value}".TrimEnd());
        }
    }

    public void WriteTable(TextTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        BeginSection();
        output.WriteLine(table.Title);
        var rows = new List<string[]> { table.Columns.Select(c => c.Header).ToArray() };
        rows.AddRange(table.Rows);
        if (table.Footer is not null)
        {
            rows.Add(table.Footer);
        }
        var widths = new int[table.Columns.Count];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        foreach (var row in rows)
        {
            var cells = row.Select((cell, i) => table.Columns[i].AlignRight ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]));
            output.WriteLine((Indent + string.Join(Gap, cells)).TrimEnd());
        }
    }

    public void WriteLine(string text)
    {
        BeginSection();
        output.WriteLine(text);
    }

    // A blank line between sections keeps them apart for readers and lets awk treat them as paragraphs.
    void BeginSection()
    {
        if (_wroteSection)
        {
            output.WriteLine();
        }
        _wroteSection = true;
    }
}
