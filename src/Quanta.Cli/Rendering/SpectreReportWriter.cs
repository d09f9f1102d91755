using Spectre.Console;
using Spectre.Console.Rendering;

namespace Quanta.Cli.Rendering;

/// <summary>Reports for a person at a terminal: bordered tables and bold labels via Spectre.Console.</summary>
internal sealed class SpectreReportWriter(IAnsiConsole console) : IReportWriter
{
    public void WriteFields(IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        foreach (var (label, value) in fields)
        {
            grid.AddRow(new Text(label, new Style(decoration: Decoration.Bold)), new Text(value));
        }
        console.Write(grid);
        console.WriteLine();
    }

    public void WriteTable(TextTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        // Cells are Text, never markup: metadata values come from the file and may contain '[' or ']'.
        var rendered = new Table()
            .Border(TableBorder.Rounded)
            .Title(new TableTitle(table.Title, new Style(decoration: Decoration.Bold)));
        for (var i = 0; i < table.Columns.Count; i++)
        {
            var column = new TableColumn(new Text(table.Columns[i].Header, new Style(decoration: Decoration.Bold)));
            if (table.Columns[i].AlignRight)
            {
                column.RightAligned();
            }
            if (table.Footer is not null)
            {
                column.Footer(new Text(table.Footer[i], new Style(decoration: Decoration.Bold)));
            }
            rendered.AddColumn(column);
        }
        foreach (var row in table.Rows)
        {
            rendered.AddRow(row.Select(cell => (IRenderable)new Text(cell)));
        }
        rendered.ShowFooters = table.Footer is not null;
        console.Write(rendered);
        console.WriteLine();
    }

    public void WriteLine(string text)
    {
        console.Write(new Text(text));
        console.WriteLine();
    }
}
