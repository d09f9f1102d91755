using Quanta.Formats.Gguf;
using Quanta.Quantization;

namespace Quanta.Tests.Quantization;

public class QuantizationOptionParsingTests
{
    [Theory]
    [InlineData("a.b=int:42", GgufValueType.UInt32, "42")]
    [InlineData("a.b=int:-42", GgufValueType.UInt32, "42")]
    [InlineData("a.b=float:0.5", GgufValueType.Float32, "0.5")]
    [InlineData("a.b=bool:true", GgufValueType.Bool, "true")]
    [InlineData("a.b=bool:false", GgufValueType.Bool, "false")]
    [InlineData("a.b=str:hello=world:x", GgufValueType.String, "hello=world:x")]
    [InlineData("a.b=str:", GgufValueType.String, "")]
    public void Metadata_overrides_parse_with_llama_quantizes_types(string text, GgufValueType type, string value)
    {
        var o = MetadataOverride.Parse(text);
        Assert.Equal("a.b", o.Key);
        Assert.Equal(type, o.Value.Type);
        Assert.Equal(value, o.Value.ToString());
    }

    [Theory]
    [InlineData("nokey")]
    [InlineData("=int:1")]
    [InlineData("a=int:x")]
    [InlineData("a=float:x")]
    [InlineData("a=bool:yes")]
    [InlineData("a=blob:1")]
    [InlineData("a=1")]
    public void Bad_metadata_overrides_are_refused(string text) =>
        Assert.Throws<FormatException>(() => MetadataOverride.Parse(text));

    [Fact]
    public void Metadata_override_keys_and_strings_have_llama_cpps_length_limits()
    {
        Assert.Throws<FormatException>(() => MetadataOverride.Parse(new string('k', 128) + "=int:1"));
        Assert.Throws<FormatException>(() => MetadataOverride.Parse("k=str:" + new string('v', 128)));
        MetadataOverride.Parse(new string('k', 127) + "=str:" + new string('v', 127));
    }

    [Fact]
    public void Pruning_renumbers_like_remap_layer()
    {
        var pruning = LayerPruning.Parse("3,1,3");
        Assert.Equal([1, 3], pruning.PrunedLayers);
        string[] names = ["output.weight", "blk.0.attn_q.weight", "blk.1.attn_q.weight", "blk.2.attn_q.weight", "blk.2.ffn_up.weight", "blk.3.attn_q.weight", "blk.4.attn_q.weight"];
        var (renamed, blocks) = pruning.Rename(names);
        string?[] expected = ["output.weight", "blk.0.attn_q.weight", null, "blk.1.attn_q.weight", "blk.1.ffn_up.weight", null, "blk.2.attn_q.weight"];
        Assert.True(expected.SequenceEqual(renamed), string.Join(", ", renamed));
        Assert.Equal(3, blocks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1,x")]
    [InlineData("-1")]
    [InlineData("1,,2")]
    public void Bad_prune_lists_are_refused(string text) =>
        Assert.Throws<FormatException>(() => LayerPruning.Parse(text));
}
