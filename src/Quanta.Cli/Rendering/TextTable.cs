namespace Quanta.Cli.Rendering;

/// <summary>A column of a <see cref="TextTable"/>; numbers are right-aligned so their digits line up.</summary>
internal sealed record TextColumn(string Header, bool AlignRight = false);

/// <summary>
/// Rows of already formatted cells, independent of how they are drawn: the same table becomes a bordered
/// Spectre.Console table on a terminal and aligned plain text in a pipe.
/// </summary>
internal sealed class TextTable(string title, params TextColumn[] columns)
{
    readonly List<string[]> _rows = [];

    public string Title { get; } = title;

    public IReadOnlyList<TextColumn> Columns { get; } = columns;

    public IReadOnlyList<string[]> Rows => _rows;

    /// <summary>A closing row (totals), drawn apart from the others where the renderer can.</summary>
    public string[]? Footer { get; private set; }

    public void AddRow(params string[] cells) => _rows.Add(Checked(cells));

    public void SetFooter(params string[] cells) => Footer = Checked(cells);

    string[] Checked(string[] cells) => cells.Length == Columns.Count
        ? cells
        : throw new ArgumentException($"table '{Title}' has {Columns.Count} columns, got {cells.Length} cells", nameof(cells));
}
