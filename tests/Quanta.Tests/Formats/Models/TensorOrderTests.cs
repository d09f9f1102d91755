using Quanta.Formats.Models;
using Quanta.Tests.Quantization;

namespace Quanta.Tests.Formats.Models;

public class TensorOrderTests
{
    [Theory]
    [InlineData("blk.0.attn_q.weight", 0)]
    [InlineData("blk.12.ffn_down.weight", 12)]
    [InlineData("blk.007.ffn_up.weight", 7)]
    [InlineData("blk.3", 3)] // sscanf assigns the number even when the dot after it is missing
    [InlineData("blk. 5.x", 5)] // %d skips white space
    [InlineData("blk.-2.x", -2)]
    [InlineData("blk.+4.x", 4)]
    [InlineData("token_embd.weight", -1)]
    [InlineData("output.weight", -1)]
    [InlineData("blk.x.attn_q.weight", -1)]
    [InlineData("v.blk.0.attn_q.weight", -1)] // mmproj blocks are not at the start of the name
    [InlineData("blk", -1)]
    [InlineData("", -1)]
    [InlineData("blk.99999999999.x", int.MaxValue)]
    public void Layer_numbers_are_read_like_sscanf(string name, int expected)
    {
        Assert.Equal(expected, TensorOrder.LayerOf(name));
    }

    [Fact]
    public void Tensors_outside_blocks_come_first_then_blocks_by_number_then_names_by_bytes()
    {
        string[] shuffled =
        [
            "blk.10.attn_q.weight", "blk.2.ffn_up.weight", "output.weight", "blk.2.attn_k.weight",
            "token_embd.weight", "blk.1.ffn_down.weight", "output_norm.weight", "blk.2.Attn_z.weight",
            "blk.10.attn_norm.weight", "rope_freqs.weight",
        ];
        string[] expected =
        [
            // "." (0x2E) sorts before "_" (0x5F); upper case before lower case.
            "output.weight", "output_norm.weight", "rope_freqs.weight", "token_embd.weight",
            "blk.1.ffn_down.weight",
            "blk.2.Attn_z.weight", "blk.2.attn_k.weight", "blk.2.ffn_up.weight",
            "blk.10.attn_norm.weight", "blk.10.attn_q.weight",
        ];
        Assert.Equal(expected, TensorOrder.Sort(shuffled, s => s));
    }

    [Fact]
    public void Names_compare_as_utf8_bytes()
    {
        // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (F0 ...), although UTF-16 puts the
        // surrogate pair (D83D ...) first.
        Assert.True(TensorOrder.Instance.Compare("a\uFF5E", "a\U0001F600") < 0);
        Assert.True(TensorOrder.Instance.Compare("a\U0001F600", "a\uFF5E") > 0);
        Assert.True(TensorOrder.Instance.Compare("ab", "abc") < 0);
        Assert.Equal(0, TensorOrder.Instance.Compare("blk.1.x", "blk.1.x"));
    }

    [Fact]
    public void Null_sorts_first()
    {
        Assert.True(TensorOrder.Instance.Compare(null, "a") < 0);
        Assert.True(TensorOrder.Instance.Compare("a", null) > 0);
        Assert.Equal(0, TensorOrder.Instance.Compare(null, null));
    }

    [Fact]
    public void The_golden_models_are_listed_in_this_order()
    {
        foreach (var model in MixFixture.Models)
        {
            var fixture = MixFixture.Load(model);
            var golden = fixture.Presets["Q4_0"].Select(p => p.Key).ToArray();
            var names = fixture.Tensors.Select(t => t.Name).Reverse().ToArray();
            Assert.Equal(golden, TensorOrder.Sort(names, n => n));
        }
    }
}
