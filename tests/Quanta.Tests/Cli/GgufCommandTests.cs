using Quanta.Formats.Gguf;

namespace Quanta.Tests.Cli;

/// <summary><c>quanta gguf set | rename-tensor | split | merge | diff</c>.</summary>
public sealed class GgufCommandTests : IDisposable
{
    readonly TempDirectory _dir = new();

    public GgufCommandTests() => File.Copy(CliRunner.TinyModel, Model);

    public void Dispose() => _dir.Dispose();

    string Model => _dir.File("model.gguf");

    string[] Listing() => [.. Directory.EnumerateFileSystemEntries(_dir.Path).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    /// <summary>Runs a command that must fail: exit 2, one line, the model and the folder as they were.</summary>
    void Refused(string expected, params string[] args)
    {
        var before = File.ReadAllBytes(Model);
        var listing = Listing();
        var result = CliRunner.Run(args);
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Error}");
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Model));
        Assert.Equal(listing, Listing());
    }

    [Theory]
    [InlineData("u8", "200", GgufValueType.UInt8)]
    [InlineData("i8", "-100", GgufValueType.Int8)]
    [InlineData("u16", "60000", GgufValueType.UInt16)]
    [InlineData("i16", "-30000", GgufValueType.Int16)]
    [InlineData("u32", "8192", GgufValueType.UInt32)]
    [InlineData("i32", "-7", GgufValueType.Int32)]
    [InlineData("u64", "18446744073709551615", GgufValueType.UInt64)]
    [InlineData("i64", "-9000000000", GgufValueType.Int64)]
    [InlineData("f32", "0.5", GgufValueType.Float32)]
    [InlineData("f64", "1e-300", GgufValueType.Float64)]
    [InlineData("bool", "true", GgufValueType.Bool)]
    [InlineData("str", "a=b:c", GgufValueType.String)]
    public void Set_adds_a_key_of_every_type_and_leaves_the_tensors_alone(string type, string text, GgufValueType expected)
    {
        var original = _dir.File("original.gguf");
        File.Copy(Model, original);
        var result = CliRunner.Run("gguf", "set", Model, $"quanta.test={type}:{text}");
        Assert.True(result.ExitCode == 0, result.Error);

        using (var file = GgufFile.Open(Model))
        {
            var (key, value) = file.Metadata[^1];
            Assert.Equal("quanta.test", key);
            Assert.Equal(expected, value.Type);
            Assert.Equal(GgufEdit.ParseValue(type, text), value);
        }
        var diff = CliRunner.Run("gguf", "diff", original, Model);
        Assert.Equal(1, diff.ExitCode);
        Assert.Equal($"+ key quanta.test: {type} {(type == "str" ? "\"a=b:c\"" : GgufEdit.ParseValue(type, text).ToString())}", diff.Out.Trim());
        Assert.Equal(["model.gguf", "original.gguf"], Listing());
    }

    [Fact]
    public void Set_replaces_an_existing_key_where_it_stands()
    {
        using (var before = GgufFile.Open(Model))
        {
            Assert.Equal(2, before.Metadata.Keys.ToList().IndexOf("llama.context_length"));
        }
        var result = CliRunner.Run("gguf", "set", Model, "llama.context_length=u32:4096");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("(was u32 256)", result.Error, StringComparison.Ordinal);
        using var file = GgufFile.Open(Model);
        Assert.Equal(2, file.Metadata.Keys.ToList().IndexOf("llama.context_length"));
        Assert.Equal(4096u, file.Metadata.GetUInt32("llama.context_length"));
    }

    [Fact]
    public void Set_refuses_bad_input_in_one_line_and_leaves_the_file_untouched()
    {
        Refused("general.alignment", "gguf", "set", Model, "general.alignment=u32:64");
        Refused("split.count", "gguf", "set", Model, "split.count=u16:2");
        Refused("expected KEY=TYPE:VALUE", "gguf", "set", Model, "general.name");
        Refused("expected KEY=TYPE:VALUE", "gguf", "set", Model, "=str:x");
        Refused("unknown type 'x32'", "gguf", "set", Model, "general.name=x32:1");
        Refused("'300' is not a valid u8 value", "gguf", "set", Model, "a.b=u8:300");
        Refused("'maybe' is not a valid bool value", "gguf", "set", Model, "a.b=bool:maybe");
        Refused("file not found", "gguf", "set", _dir.File("missing.gguf"), "a.b=u8:1");
        File.WriteAllText(_dir.File("not.gguf"), "hello");
        Refused("not.gguf", "gguf", "set", _dir.File("not.gguf"), "a.b=u8:1");
        File.Delete(_dir.File("not.gguf"));
    }

    [Fact]
    public void Rename_tensor_renames_in_place_and_keeps_the_bytes()
    {
        var original = _dir.File("original.gguf");
        File.Copy(Model, original);
        var result = CliRunner.Run("gguf", "rename-tensor", Model, "blk.0.attn_q.weight", "blk.0.attn_query.weight");
        Assert.True(result.ExitCode == 0, result.Error);
        using (var a = GgufFile.Open(original))
        using (var b = GgufFile.Open(Model))
        {
            Assert.Equal(a.Tensors.Select(t => t.Name == "blk.0.attn_q.weight" ? "blk.0.attn_query.weight" : t.Name), b.Tensors.Select(t => t.Name));
            Assert.Equal(GgufDiff.Sha256(a.FindTensor("blk.0.attn_q.weight")!), GgufDiff.Sha256(b.FindTensor("blk.0.attn_query.weight")!));
        }
        var diff = CliRunner.Run("gguf", "diff", original, Model);
        Assert.Equal(1, diff.ExitCode);
        Assert.Equal(["- tensor blk.0.attn_q.weight: f16 [256, 256]", "+ tensor blk.0.attn_query.weight: f16 [256, 256]"], diff.Out.Trim().Split('\n'));
    }

    [Fact]
    public void Rename_tensor_refuses_bad_input_in_one_line_and_leaves_the_file_untouched()
    {
        Refused("no tensor named 'nope'", "gguf", "rename-tensor", Model, "nope", "x");
        Refused("a tensor named 'blk.0.attn_k.weight' already exists", "gguf", "rename-tensor", Model, "blk.0.attn_q.weight", "blk.0.attn_k.weight");
        Refused("longer than 63 bytes", "gguf", "rename-tensor", Model, "blk.0.attn_q.weight", new string('x', 64));
        Refused("file not found", "gguf", "rename-tensor", _dir.File("missing.gguf"), "a", "b");
    }

    [Fact]
    public void Split_by_tensors_then_merge_gives_back_the_file()
    {
        Directory.CreateDirectory(_dir.File("parts"));
        var result = CliRunner.Run("gguf", "split", Model, "--max-tensors", "10", _dir.File("parts/model"));
        Assert.True(result.ExitCode == 0, result.Error);
        var shards = result.Out.Trim().Split('\n');
        Assert.Equal(4, shards.Length); // 39 tensors
        Assert.EndsWith("model-00001-of-00004.gguf", shards[0], StringComparison.Ordinal);
        using (var second = GgufFile.Open(shards[1]))
        {
            Assert.Equal(39, second.Tensors.Count); // the whole set opens from any shard
        }
        var merged = _dir.File("merged.gguf");
        var merge = CliRunner.Run("gguf", "merge", shards[0], merged);
        Assert.True(merge.ExitCode == 0, merge.Error);
        Assert.Equal(File.ReadAllBytes(Model), File.ReadAllBytes(merged));

        var diff = CliRunner.Run("gguf", "diff", Model, shards[2]);
        Assert.Equal(0, diff.ExitCode);
        Assert.Equal("", diff.Out);
    }

    [Fact]
    public void Split_by_size_follows_gguf_split_and_names_shards_after_the_input()
    {
        var result = CliRunner.Run("gguf", "split", Model, "--max-size", "1M");
        Assert.True(result.ExitCode == 0, result.Error);
        var shards = result.Out.Trim().Split('\n');
        Assert.True(shards.Length > 1);
        Assert.All(shards, s => Assert.StartsWith(_dir.File("model-0000"), s, StringComparison.Ordinal));
        Assert.Equal(0, CliRunner.Run("gguf", "diff", Model, shards[0]).ExitCode);
    }

    [Fact]
    public void Split_and_merge_refuse_bad_input_in_one_line()
    {
        Refused("not both", "gguf", "split", Model, "--max-size", "1M", "--max-tensors", "3");
        Refused("invalid size 'lots'", "gguf", "split", Model, "--max-size", "lots");
        Refused("not a positive number", "gguf", "split", Model, "--max-tensors", "0");
        Refused("file not found", "gguf", "split", _dir.File("missing.gguf"), "--max-tensors", "3");
        Refused("not a split set", "gguf", "merge", Model, _dir.File("out.gguf"));
        Refused("does not exist", "gguf", "split", Model, "--max-tensors", "3", _dir.File("nowhere/model"));
    }

    [Fact]
    public void Diff_reports_changed_keys_types_and_tensor_bytes()
    {
        var other = _dir.File("other.gguf");
        File.Copy(Model, other);
        Assert.Equal(0, CliRunner.Run("gguf", "set", other, "llama.context_length=u64:256").ExitCode);
        Assert.Equal(0, CliRunner.Run("gguf", "set", other, "general.name=str:renamed").ExitCode);
        // Same names, shapes and types, different bytes: swap two tensors' names twice over a third.
        Assert.Equal(0, CliRunner.Run("gguf", "rename-tensor", other, "blk.0.attn_k.weight", "tmp").ExitCode);
        Assert.Equal(0, CliRunner.Run("gguf", "rename-tensor", other, "blk.1.attn_k.weight", "blk.0.attn_k.weight").ExitCode);
        Assert.Equal(0, CliRunner.Run("gguf", "rename-tensor", other, "tmp", "blk.1.attn_k.weight").ExitCode);

        var diff = CliRunner.Run("gguf", "diff", Model, other);
        Assert.Equal(1, diff.ExitCode);
        var lines = diff.Out.Trim().Split('\n');
        Assert.Contains("~ key general.name: str \"synthetic-llama\" -> str \"renamed\"", lines);
        Assert.Contains("~ key llama.context_length: u32 256 -> u64 256", lines);
        Assert.Contains(lines, l => l.StartsWith("~ tensor blk.0.attn_k.weight: bytes sha256:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("~ tensor blk.1.attn_k.weight: bytes sha256:", StringComparison.Ordinal));
        Assert.Contains("~ tensor (order): the tensors both files have are in a different order", lines);
        Assert.Equal(0, CliRunner.Run("gguf", "diff", Model, Model).ExitCode);

        var bad = CliRunner.Run("gguf", "diff", Model, _dir.File("missing.gguf"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Single(bad.ErrorLines);
    }
}
