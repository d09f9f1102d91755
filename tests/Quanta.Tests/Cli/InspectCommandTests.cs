using System.Text.Json;
using System.Text.RegularExpressions;
using Quanta.Formats;
using Xunit;

namespace Quanta.Tests.Cli;

public sealed class InspectCommandTests
{
    // The fixture: a 4-layer llama, width 256, FFN 768, 512-token vocabulary, F16 weights and F32 norms.
    const int TinyTensorCount = 39;
    const long TinyParameters = 3_410_176;

    [Fact]
    public void Inspect_TinyModel_PrintsSummaryMetadataAndTypeTotals()
    {
        var result = CliRunner.Run("inspect", CliRunner.TinyModel);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Matches(@"(?m)^Architecture:\s+llama$", result.Out);
        Assert.Matches(@"(?m)^Name:\s+synthetic-llama$", result.Out);
        Assert.Matches(@"(?m)^Parameters:\s+3\.41M \(3,410,176\)$", result.Out);
        Assert.Matches(@"(?m)^File type:\s+F16 \(1\)$", result.Out);
        Assert.Matches(@"(?m)^File size:\s+6\.52 MiB \(6,841,472 bytes\)$", result.Out);
        Assert.Matches(@"(?m)^GGUF version:\s+3$", result.Out);
        Assert.Matches(@"(?m)^Alignment:\s+32$", result.Out);
        Assert.Matches(@"(?m)^Tensors:\s+39$", result.Out);
        Assert.Matches(@"(?m)^\s+tokenizer\.ggml\.tokens\s+arr\[str\]\s+\[512 strings\]$", result.Out);
        Assert.Matches(@"(?m)^\s+llama\.block_count\s+u32\s+4$", result.Out);
        Assert.Matches(@"(?m)^\s+F32\s+9\s+2\.3K\s+9 KiB\s+32\.00$", result.Out);
        Assert.Matches(@"(?m)^\s+F16\s+30\s+3\.41M\s+6\.5 MiB\s+16\.00$", result.Out);
        Assert.Matches(@"(?m)^\s+total\s+39\s+3\.41M\s+6\.51 MiB\s+16\.01$", result.Out);
        // The tensor list is opt-in.
        Assert.DoesNotContain("blk.0.attn_q.weight", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_PipedOutput_HasNoEscapeCodesOrBoxDrawing()
    {
        var result = CliRunner.Run("inspect", CliRunner.TinyModel, "--tensors");

        Assert.DoesNotContain('\u001b', result.Out);
        Assert.DoesNotMatch("[\u2500-\u257f]", result.Out);
    }

    [Fact]
    public void Inspect_Tensors_ListsNameShapeTypeAndSize()
    {
        var result = CliRunner.Run("inspect", CliRunner.TinyModel, "--tensors");

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"(?m)^\s+token_embd\.weight\s+\[256, 512\]\s+F16\s+256 KiB$", result.Out);
        Assert.Matches(@"(?m)^\s+blk\.3\.ffn_down\.weight\s+\[768, 256\]\s+F16\s+384 KiB$", result.Out);
        Assert.Matches(@"(?m)^\s+output_norm\.weight\s+\[256\]\s+F32\s+1 KiB$", result.Out);
        Assert.Matches(@"(?m)^Tensors \(39\)$", result.Out);
    }

    [Fact]
    public void Inspect_Terminal_RendersTables()
    {
        var result = CliRunner.RunAsTerminal("inspect", CliRunner.TinyModel, "--tensors");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("token_embd.weight", result.Out, StringComparison.Ordinal);
        Assert.Contains("Tensor types", result.Out, StringComparison.Ordinal);
        Assert.Contains("synthetic-llama", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_Json_IsOneDocumentWithSummaryAndTotals()
    {
        var result = CliRunner.Run("inspect", CliRunner.TinyModel, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        using var doc = JsonDocument.Parse(result.Out);
        var root = doc.RootElement;
        Assert.Equal("llama", root.GetProperty("architecture").GetString());
        Assert.Equal("synthetic-llama", root.GetProperty("name").GetString());
        Assert.Equal(TinyTensorCount, root.GetProperty("tensorCount").GetInt32());
        Assert.Equal(TinyParameters, root.GetProperty("parameterCount").GetInt64());
        Assert.Equal(6_841_472, root.GetProperty("fileSize").GetInt64());
        Assert.Equal(3, root.GetProperty("ggufVersion").GetInt32());
        Assert.Equal(32, root.GetProperty("alignment").GetInt32());
        Assert.Equal(1, root.GetProperty("fileType").GetProperty("value").GetInt32());
        Assert.Equal("F16", root.GetProperty("fileType").GetProperty("name").GetString());
        Assert.Equal("F16", root.GetProperty("fileType").GetProperty("llamaCpp").GetString());
        Assert.False(root.GetProperty("split").GetBoolean());
        Assert.Equal(8.0 * (9216 + 6_815_744) / TinyParameters, root.GetProperty("bitsPerWeight").GetDouble(), 9);

        var types = root.GetProperty("tensorTypes").EnumerateArray().ToDictionary(t => t.GetProperty("type").GetString()!);
        Assert.Equal(["F32", "F16"], types.Keys);
        Assert.Equal(9, types["F32"].GetProperty("tensors").GetInt32());
        Assert.Equal(2304, types["F32"].GetProperty("elements").GetInt64());
        Assert.Equal(9216, types["F32"].GetProperty("bytes").GetInt64());
        Assert.Equal(30, types["F16"].GetProperty("tensors").GetInt32());
        Assert.Equal(3_407_872, types["F16"].GetProperty("elements").GetInt64());
        Assert.Equal(6_815_744, types["F16"].GetProperty("bytes").GetInt64());
        Assert.Equal(16.0, types["F16"].GetProperty("bitsPerWeight").GetDouble());

        var metadata = root.GetProperty("metadata");
        Assert.Equal("str", metadata.GetProperty("general.architecture").GetProperty("type").GetString());
        Assert.Equal("llama", metadata.GetProperty("general.architecture").GetProperty("value").GetString());
        Assert.Equal(4, metadata.GetProperty("llama.block_count").GetProperty("value").GetInt32());
        var tokens = metadata.GetProperty("tokenizer.ggml.tokens");
        Assert.Equal("arr", tokens.GetProperty("type").GetString());
        Assert.Equal("str", tokens.GetProperty("value").GetProperty("type").GetString());
        Assert.Equal(512, tokens.GetProperty("value").GetProperty("count").GetInt32());
        Assert.False(root.TryGetProperty("tensors", out _));
    }

    [Fact]
    public void Inspect_JsonWithTensors_ListsEveryTensor()
    {
        var result = CliRunner.Run("inspect", "--json", "--tensors", CliRunner.TinyModel);

        Assert.Equal(0, result.ExitCode);
        using var doc = JsonDocument.Parse(result.Out);
        var tensors = doc.RootElement.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(TinyTensorCount, tensors.Count);
        var embedding = tensors.Single(t => t.GetProperty("name").GetString() == "token_embd.weight");
        Assert.Equal([256L, 512L], embedding.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal("F16", embedding.GetProperty("type").GetString());
        Assert.Equal(256 * 512 * 2, embedding.GetProperty("bytes").GetInt64());
        Assert.Equal(TinyParameters, tensors.Sum(t => t.GetProperty("shape").EnumerateArray().Aggregate(1L, (a, d) => a * d.GetInt64())));
    }

    [Fact]
    public void Inspect_ZeroTensorFile_Works()
    {
        using var dir = new TempDirectory();
        var path = new RawGguf().String("general.architecture", "llama").WriteTo(dir.File("vocab-only.gguf"));

        var human = CliRunner.Run("inspect", path, "--tensors");
        var json = CliRunner.Run("inspect", path, "--json");

        Assert.Equal(0, human.ExitCode);
        Assert.Equal("", human.Error);
        Assert.Matches(@"(?m)^Tensors:\s+0$", human.Out);
        Assert.Matches(@"(?m)^Parameters:\s+0 \(0\)$", human.Out);
        Assert.Matches(@"(?m)^File type:\s+\(not set\)$", human.Out);
        Assert.Contains("No tensors", human.Out, StringComparison.Ordinal);
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal(0, doc.RootElement.GetProperty("tensorCount").GetInt32());
        Assert.Equal(0, doc.RootElement.GetProperty("parameterCount").GetInt64());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("bitsPerWeight").ValueKind);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("fileType").ValueKind);
        Assert.Empty(doc.RootElement.GetProperty("tensorTypes").EnumerateArray());
        Assert.Equal("llama", doc.RootElement.GetProperty("architecture").GetString());
    }

    [Fact]
    public void Inspect_TypesQuantaCannotEncode_AreReported()
    {
        using var dir = new TempDirectory();
        var path = new RawGguf()
            .String("general.architecture", "llama")
            .UInt32("general.file_type", 19)
            .Tensor("blk.0.attn_q.weight", GgmlType.IQ2_XXS, 256, 4)
            .Tensor("blk.0.ffn_up.weight", GgmlType.TQ1_0, 256, 2)
            .Tensor("blk.0.attn_norm.weight", GgmlType.F32, 256)
            .WriteTo(dir.File("iq.gguf"));

        var result = CliRunner.Run("inspect", path, "--tensors");

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"(?m)^File type:\s+IQ2_XXS \(19\)$", result.Out);
        Assert.Matches(@"(?m)^\s+IQ2_XXS\s+1\s+1\.02K\s+264 B\s+2\.06$", result.Out);
        Assert.Matches(@"(?m)^\s+TQ1_0\s+1\s+512\s+108 B\s+1\.69$", result.Out);
        Assert.Matches(@"(?m)^\s+blk\.0\.attn_q\.weight\s+\[256, 4\]\s+IQ2_XXS\s+264 B$", result.Out);
    }

    [Fact]
    public void Inspect_SplitSet_OpensAllShardsFromAnyShard()
    {
        using var dir = new TempDirectory();
        new RawGguf()
            .String("general.architecture", "llama")
            .UInt32("general.file_type", 15)
            .UInt16("split.no", 0).UInt16("split.count", 2).Int32("split.tensors.count", 3)
            .Tensor("token_embd.weight", GgmlType.Q4_K, 256, 8)
            .Tensor("output_norm.weight", GgmlType.F32, 256)
            .WriteTo(dir.File("model-00001-of-00002.gguf"));
        var second = new RawGguf()
            .UInt16("split.no", 1).UInt16("split.count", 2).Int32("split.tensors.count", 3)
            .Tensor("output.weight", GgmlType.Q6_K, 256, 8)
            .WriteTo(dir.File("model-00002-of-00002.gguf"));

        var human = CliRunner.Run("inspect", second);
        var json = CliRunner.Run("inspect", second, "--json", "--tensors");

        Assert.Equal(0, human.ExitCode);
        Assert.Matches(@"(?m)^Shards:\s+2$", human.Out);
        Assert.Matches(@"(?m)^Tensors:\s+3$", human.Out);
        Assert.Matches(@"(?m)^File type:\s+Q4_K_M \(15\)$", human.Out);
        Assert.Matches(@"(?m)^\s+model-00002-of-00002\.gguf\s+[\d.]+ KiB\s+1$", human.Out);
        using var doc = JsonDocument.Parse(json.Out);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("split").GetBoolean());
        Assert.Equal(3, root.GetProperty("tensorCount").GetInt32());
        Assert.Equal(256 * 17, root.GetProperty("parameterCount").GetInt64());
        Assert.Equal(2, root.GetProperty("files").GetArrayLength());
        Assert.Equal(new FileInfo(dir.File("model-00001-of-00002.gguf")).Length + new FileInfo(second).Length, root.GetProperty("fileSize").GetInt64());
        Assert.Equal(["Q4_K", "F32", "Q6_K"], root.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("type").GetString()));
    }

    [Fact]
    public void Inspect_AwkwardMetadata_StaysOneLinePerKeyAndValidJson()
    {
        using var dir = new TempDirectory();
        var template = "{% for m in messages %}\n<|" + new string('x', 300) + "|>\n{% endfor %}";
        var path = new RawGguf()
            .UInt32("general.architecture", 7) // wrong type: inspect shows it instead of refusing the file
            .String("tokenizer.chat_template", template)
            .Float32("test.nan", float.NaN)
            .Strings("test.short", "<s>", "a\tb")
            .Int32s("test.long", Enumerable.Range(0, 17).ToArray())
            .WriteTo(dir.File("odd.gguf"));

        var human = CliRunner.Run("inspect", path);
        var json = CliRunner.Run("inspect", path, "--json");

        Assert.Equal(0, human.ExitCode);
        Assert.Matches(@"(?m)^Architecture:\s+7$", human.Out);
        var templateLine = Assert.Single(human.Out.Split('\n'), l => l.Contains("tokenizer.chat_template", StringComparison.Ordinal));
        Assert.Contains(@"{% for m in messages %}\n<|", templateLine, StringComparison.Ordinal);
        Assert.Contains($"({template.Length} chars)", templateLine, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\s+test\.short\s+arr\[str\]\s+\[""<s>"", ""a\\tb""\]$", human.Out);
        Assert.Matches(@"(?m)^\s+test\.long\s+arr\[i32\]\s+\[17 i32 values\]$", human.Out);

        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Out);
        var metadata = doc.RootElement.GetProperty("metadata");
        Assert.Equal(template, metadata.GetProperty("tokenizer.chat_template").GetProperty("value").GetString());
        Assert.Equal("NaN", metadata.GetProperty("test.nan").GetProperty("value").GetString());
        Assert.Equal(["<s>", "a\tb"], metadata.GetProperty("test.short").GetProperty("value").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(17, metadata.GetProperty("test.long").GetProperty("value").GetProperty("count").GetInt32());
        Assert.Equal("i32", metadata.GetProperty("test.long").GetProperty("value").GetProperty("type").GetString());
        Assert.Equal("7", doc.RootElement.GetProperty("architecture").GetString());
    }

    [Fact]
    public void Inspect_ArrayOfSixteen_IsWrittenInFull()
    {
        using var dir = new TempDirectory();
        var path = new RawGguf().Int32s("test.sixteen", Enumerable.Range(0, 16).ToArray()).WriteTo(dir.File("a.gguf"));

        var json = CliRunner.Run("inspect", path, "--json");

        using var doc = JsonDocument.Parse(json.Out);
        var value = doc.RootElement.GetProperty("metadata").GetProperty("test.sixteen").GetProperty("value");
        Assert.Equal(Enumerable.Range(0, 16), value.EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Inspect_HumanAndJsonAgree()
    {
        var human = CliRunner.Run("inspect", CliRunner.TinyModel);
        var json = CliRunner.Run("inspect", CliRunner.TinyModel, "--json");

        using var doc = JsonDocument.Parse(json.Out);
        var count = doc.RootElement.GetProperty("metadata").EnumerateObject().Count();
        Assert.Matches(new Regex($@"(?m)^Metadata \({count} keys\)$"), human.Out);
    }
}
