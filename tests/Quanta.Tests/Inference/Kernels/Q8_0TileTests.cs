using Quanta.Formats;
using Quanta.Inference.Kernels;
using Xunit;

namespace Quanta.Tests.Inference.Kernels;

/// <summary>
/// Q8_0's tile kernel (<see cref="Q8_0Tiles"/>: 4 × 4 register tiles over activations prepared once per batch, the
/// scale products d_w·d_a taken four rows at a time and broadcast per lane) against the scalar twin <see cref="Q8_0Dot.Dot"/>, bit for bit, on blocks at
/// the edges of the integer ranges (−128 weights, ±127 activations) and on scales that differ per row and token in
/// sign and magnitude, so that a product handed to the wrong row or token, or a sum that loses a bit, shows.
/// In the kernel test classes that <c>.ci/run</c> re-runs at 256 bits and without hardware intrinsics.
/// </summary>
public sealed class Q8_0TileTests
{
    const int BlockBytes = 34;

    [Theory]
    [InlineData(8, 8, 256)]
    [InlineData(12, 9, 96)]
    [InlineData(5, 4, 64)]
    public void Tiles_equal_the_scalar_twin_on_extreme_blocks_and_scales(int rows, int tokens, int n)
    {
        var dot = new Q8_0Dot();
        var random = new Random(rows * 1000 + tokens);
        var rowBytes = n / 32 * BlockBytes;
        var weights = Blocks(rows, n, random, [-128, -127, 127, 0, 1, -1], scale: r => (r % 3 == 0 ? -1 : 1) * MathF.ScaleB(1.25f + r, -r % 9));
        var activations = Blocks(tokens, n, random, [-127, 127, 0, 5, -5], scale: t => MathF.ScaleB(0.75f + t, (t % 5) - 6));
        var tiles = (IMatrixDot)dot;
        if (!tiles.CanMultiply(KernelWidths.Current))
        {
            // No tiles at this width (DOTNET_EnableHWIntrinsic=0): the caller dots row by row, which VecDotTests covers.
            Assert.Equal(KernelWidth.Scalar, KernelWidths.Current);
            return;
        }
        var output = new float[tokens * rows];
        tiles.Multiply(weights, rowBytes, rows, activations, rowBytes, tokens, n, output, rows);
        for (var t = 0; t < tokens; t++)
        {
            for (var r = 0; r < rows; r++)
            {
                var expected = dot.Dot(weights.AsSpan(r * rowBytes, rowBytes), activations.AsSpan(t * rowBytes, rowBytes), n, KernelWidth.Scalar);
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(output[(t * rows) + r]),
                    $"row {r} token {t}: {output[(t * rows) + r]} vs the scalar twin's {expected}");
            }
        }
        // The extremes must reach the sums: a row of −128s against a token of 127s is −128·127 per element.
        Assert.Contains(output, v => v != 0f);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(61)]
    public void Prepared_activations_from_any_offset_give_the_scalar_twin(int offset)
    {
        // MatMul prepares a batch once (quants offset to unsigned, scales widened) and hands every chunk of rows the
        // same buffer; its 4 × 4 tiles must read it right wherever in the buffer it starts (the quants are aligned
        // inside it, and the alignment is recorded there), and the rows and tokens past the tiles keep the raw bytes.
        const int rows = 10;
        const int tokens = 7;
        const int n = 128;
        var dot = new Q8_0Dot();
        IPreparedMatrixDot tiles = dot;
        var random = new Random(offset);
        var rowBytes = n / 32 * BlockBytes;
        var weights = Blocks(rows, n, random, [-128, -127, 127, 0, 3, -3], scale: r => (r % 2 == 0 ? -1 : 1) * MathF.ScaleB(1.5f + r, -r % 7));
        var activations = Blocks(tokens, n, random, [-127, 127, 0, 9, -9], scale: t => MathF.ScaleB(0.625f + t, (t % 3) - 4));
        var bytes = tiles.PreparedBytes(tokens, n, KernelWidths.Current);
        if (bytes == 0)
        {
            // No VNNI tiles here (or no tiles at this width): nothing is prepared and the plain tiles or row dots run.
            Assert.False(System.Runtime.Intrinsics.X86.AvxVnni.IsSupported && tiles.CanMultiply(KernelWidths.Current));
            return;
        }
        Assert.Equal(0, tiles.PreparedBytes(3, n, KernelWidths.Current));
        var buffer = new byte[offset + bytes];
        tiles.Prepare(activations, rowBytes, tokens, n, buffer.AsSpan(offset));
        var output = new float[tokens * rows];
        tiles.Multiply(weights, rowBytes, rows, activations, rowBytes, buffer.AsSpan(offset), tokens, n, output, rows);
        for (var t = 0; t < tokens; t++)
        {
            for (var r = 0; r < rows; r++)
            {
                var expected = dot.Dot(weights.AsSpan(r * rowBytes, rowBytes), activations.AsSpan(t * rowBytes, rowBytes), n, KernelWidth.Scalar);
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(output[(t * rows) + r]),
                    $"offset {offset}, row {r} token {t}: {output[(t * rows) + r]} vs the scalar twin's {expected}");
            }
        }
        Assert.Throws<ArgumentException>(() => tiles.Multiply(weights, rowBytes, rows, activations, rowBytes, buffer.AsSpan(offset, bytes - 1), tokens, n, output, rows));
    }

    /// <summary>Q8_0 rows whose quants are drawn from <paramref name="values"/>, with a per-row scale (as F16).</summary>
    static byte[] Blocks(int count, int n, Random random, sbyte[] values, Func<int, float> scale)
    {
        var bytes = new byte[count * (n / 32) * BlockBytes];
        for (var i = 0; i < count; i++)
        {
            for (var b = 0; b < n / 32; b++)
            {
                var block = bytes.AsSpan(((i * (n / 32)) + b) * BlockBytes, BlockBytes);
                // The scale moves a little from block to block, so that every block's product differs.
                var d = Fp16.FromFloat(scale(i) * (1f + (b / 64f)));
                block[0] = (byte)d;
                block[1] = (byte)(d >> 8);
                for (var j = 2; j < BlockBytes; j++)
                {
                    block[j] = (byte)values[random.Next(values.Length)];
                }
            }
        }
        return bytes;
    }
}
