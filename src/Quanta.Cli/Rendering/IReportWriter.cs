namespace Quanta.Cli.Rendering;

/// <summary>Draws a human-readable report: labelled fields and tables, in the order they are written.</summary>
internal interface IReportWriter
{
    /// <summary>Label/value pairs, such as a model's summary.</summary>
    void WriteFields(IReadOnlyList<KeyValuePair<string, string>> fields);

    void WriteTable(TextTable table);

    /// <summary>A line of prose (a note, an empty-table remark).</summary>
    void WriteLine(string text);
}
