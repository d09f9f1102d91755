using System.Text.Json;

namespace Quanta.Tests.Inference.Sampling.Grammar;

/// <summary>The cases of llama.cpp's grammar tests, in Fixtures/grammar (see its README).</summary>
static class GrammarFixtures
{
    public static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "grammar");

    static readonly Lazy<JsonElement[]> ParserCases = new(() => Load("parser.json"));
    static readonly Lazy<JsonElement[]> IntegrationCases = new(() => Load("integration.json"));
    static readonly Lazy<JsonElement[]> SchemaCases = new(() => Load("json-schema.json"));

    static JsonElement[] Load(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory, file)));
        return [.. document.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    public static TheoryData<int> ParserIndices() => [.. Enumerable.Range(0, ParserCases.Value.Length)];

    public static JsonElement Parser(int index) => ParserCases.Value[index];

    public static TheoryData<int> IntegrationIndices() => [.. Enumerable.Range(0, IntegrationCases.Value.Length)];

    public static JsonElement Integration(int index) => IntegrationCases.Value[index];

    public static TheoryData<int> SchemaIndices() => [.. Enumerable.Range(0, SchemaCases.Value.Length)];

    public static JsonElement Schema(int index) => SchemaCases.Value[index];

    public static string[] Strings(JsonElement e) => [.. e.EnumerateArray().Select(s => s.GetString()!)];
}
