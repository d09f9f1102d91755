using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quanta.Codecs.Search;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// ggml's <c>dequantize_row_iq*</c> for one 256-value super-block each, bit for bit. Every value is
/// <c>scale · grid value · (±1)</c> (or <c>scale · (grid value + δ)</c> for IQ1), multiplied in that order; the
/// vector paths do the same multiplications lane by lane, eight values (one grid point or two) at a time.
/// </summary>
internal static class IqDecode
{
    private const int SuperBlock = SuperBlockCodec.SuperBlockSize;

    /// <summary>Whether the public entry points take the vector paths.</summary>
    public static bool Vectorized => Vector256.IsHardwareAccelerated;

    // ---------------------------------------------------------------- IQ2_XXS (66 bytes: d, qs[32] u16)

    public static void Iq2Xxs(ReadOnlySpan<byte> block, Span<float> y)
    {
        if (Vectorized)
        {
            Iq2XxsVector(block, y);
        }
        else
        {
            Iq2XxsScalar(block, y);
        }
    }

    public static void Iq2XxsScalar(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Iq2Grids.Iq2Xxs;
        for (var ib = 0; ib < 8; ++ib)
        {
            var indices = BinaryPrimitives.ReadUInt32LittleEndian(block[(2 + 8 * ib)..]);
            var aux = BinaryPrimitives.ReadUInt32LittleEndian(block[(6 + 8 * ib)..]);
            var db = d * (0.5f + (aux >> 28)) * 0.25f;
            for (var l = 0; l < 4; ++l)
            {
                var grid = grids[(indices >> (8 * l)) & 255];
                var signs = Iq2Grids.Signs[(aux >> (7 * l)) & 127];
                Point8(db, grid, signs, y.Slice(32 * ib + 8 * l, 8));
            }
        }
    }

    public static void Iq2XxsVector(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Tables.Iq2Xxs;
        var signTable = Tables.Signs;
        ref var output = ref MemoryMarshal.GetReference(y[..SuperBlock]);
        for (var ib = 0; ib < 8; ++ib)
        {
            var indices = BinaryPrimitives.ReadUInt32LittleEndian(block[(2 + 8 * ib)..]);
            var aux = BinaryPrimitives.ReadUInt32LittleEndian(block[(6 + 8 * ib)..]);
            var db = Vector256.Create(d * (0.5f + (aux >> 28)) * 0.25f);
            for (var l = 0; l < 4; ++l)
            {
                var grid = grids[(int)((indices >> (8 * l)) & 255)];
                var signs = signTable[Iq2Grids.Signs[(aux >> (7 * l)) & 127]];
                (db * grid * signs).StoreUnsafe(ref output, (nuint)(32 * ib + 8 * l));
            }
        }
    }

    // ---------------------------------------------------------------- IQ2_XS (74 bytes: d, qs[32] u16, scales[8])

    public static void Iq2Xs(ReadOnlySpan<byte> block, Span<float> y)
    {
        if (Vectorized)
        {
            Iq2XsVector(block, y);
        }
        else
        {
            Iq2XsScalar(block, y);
        }
    }

    public static void Iq2XsScalar(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Iq2Grids.Iq2Xs;
        for (var ib = 0; ib < 8; ++ib)
        {
            var sc = block[66 + ib];
            var db0 = d * (0.5f + (sc & 0xF)) * 0.25f;
            var db1 = d * (0.5f + (sc >> 4)) * 0.25f;
            for (var l = 0; l < 4; ++l)
            {
                var q = BinaryPrimitives.ReadUInt16LittleEndian(block[(2 + 8 * ib + 2 * l)..]);
                Point8(l < 2 ? db0 : db1, grids[q & 511], Iq2Grids.Signs[q >> 9], y.Slice(32 * ib + 8 * l, 8));
            }
        }
    }

    public static void Iq2XsVector(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Tables.Iq2Xs;
        var signTable = Tables.Signs;
        ref var output = ref MemoryMarshal.GetReference(y[..SuperBlock]);
        for (var ib = 0; ib < 8; ++ib)
        {
            var sc = block[66 + ib];
            var db0 = Vector256.Create(d * (0.5f + (sc & 0xF)) * 0.25f);
            var db1 = Vector256.Create(d * (0.5f + (sc >> 4)) * 0.25f);
            for (var l = 0; l < 4; ++l)
            {
                var q = BinaryPrimitives.ReadUInt16LittleEndian(block[(2 + 8 * ib + 2 * l)..]);
                var signs = signTable[Iq2Grids.Signs[q >> 9]];
                ((l < 2 ? db0 : db1) * grids[q & 511] * signs).StoreUnsafe(ref output, (nuint)(32 * ib + 8 * l));
            }
        }
    }

    // ---------------------------------------------------------------- IQ2_S (82 bytes: d, qs[32], signs[32], qh[8], scales[8])

    public static void Iq2S(ReadOnlySpan<byte> block, Span<float> y)
    {
        if (Vectorized)
        {
            Iq2SVector(block, y);
        }
        else
        {
            Iq2SScalar(block, y);
        }
    }

    public static void Iq2SScalar(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Iq2Grids.Iq2S;
        for (var ib = 0; ib < 8; ++ib)
        {
            var sc = block[74 + ib];
            var db0 = d * (0.5f + (sc & 0xF)) * 0.25f;
            var db1 = d * (0.5f + (sc >> 4)) * 0.25f;
            var qh = block[66 + ib];
            for (var l = 0; l < 4; ++l)
            {
                var index = block[2 + 4 * ib + l] | ((qh << (8 - 2 * l)) & 0x300);
                Point8(l < 2 ? db0 : db1, grids[index], block[34 + 4 * ib + l], y.Slice(32 * ib + 8 * l, 8));
            }
        }
    }

    public static void Iq2SVector(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Tables.Iq2S;
        var signTable = Tables.Signs;
        ref var output = ref MemoryMarshal.GetReference(y[..SuperBlock]);
        for (var ib = 0; ib < 8; ++ib)
        {
            var sc = block[74 + ib];
            var db0 = Vector256.Create(d * (0.5f + (sc & 0xF)) * 0.25f);
            var db1 = Vector256.Create(d * (0.5f + (sc >> 4)) * 0.25f);
            var qh = block[66 + ib];
            for (var l = 0; l < 4; ++l)
            {
                var index = block[2 + 4 * ib + l] | ((qh << (8 - 2 * l)) & 0x300);
                var signs = signTable[block[34 + 4 * ib + l]];
                ((l < 2 ? db0 : db1) * grids[index] * signs).StoreUnsafe(ref output, (nuint)(32 * ib + 8 * l));
            }
        }
    }

    // ---------------------------------------------------------------- IQ3_XXS (98 bytes: d, qs[64], scales_and_signs u32[8])

    public static void Iq3Xxs(ReadOnlySpan<byte> block, Span<float> y)
    {
        if (Vectorized)
        {
            Iq3XxsVector(block, y);
        }
        else
        {
            Iq3XxsScalar(block, y);
        }
    }

    public static void Iq3XxsScalar(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Iq3Grids.Iq3Xxs;
        for (var ib = 0; ib < 8; ++ib)
        {
            var aux = BinaryPrimitives.ReadUInt32LittleEndian(block[(66 + 4 * ib)..]);
            var db = d * (0.5f + (aux >> 28)) * 0.5f;
            for (var l = 0; l < 4; ++l)
            {
                var signs = Iq2Grids.Signs[(aux >> (7 * l)) & 127];
                var grid = grids[block[2 + 8 * ib + 2 * l]] | ((ulong)grids[block[3 + 8 * ib + 2 * l]] << 32);
                Point8(db, grid, signs, y.Slice(32 * ib + 8 * l, 8));
            }
        }
    }

    public static void Iq3XxsVector(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Tables.Iq3Xxs;
        var signTable = Tables.Signs;
        ref var output = ref MemoryMarshal.GetReference(y[..SuperBlock]);
        for (var ib = 0; ib < 8; ++ib)
        {
            var aux = BinaryPrimitives.ReadUInt32LittleEndian(block[(66 + 4 * ib)..]);
            var db = Vector256.Create(d * (0.5f + (aux >> 28)) * 0.5f);
            for (var l = 0; l < 4; ++l)
            {
                var signs = signTable[Iq2Grids.Signs[(aux >> (7 * l)) & 127]];
                var grid = Vector256.Create(grids[block[2 + 8 * ib + 2 * l]], grids[block[3 + 8 * ib + 2 * l]]);
                (db * grid * signs).StoreUnsafe(ref output, (nuint)(32 * ib + 8 * l));
            }
        }
    }

    // ---------------------------------------------------------------- IQ3_S (110 bytes: d, qs[64], qh[8], signs[32], scales[4])

    public static void Iq3S(ReadOnlySpan<byte> block, Span<float> y)
    {
        if (Vectorized)
        {
            Iq3SVector(block, y);
        }
        else
        {
            Iq3SScalar(block, y);
        }
    }

    public static void Iq3SScalar(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Iq3Grids.Iq3S;
        for (var ib = 0; ib < 8; ++ib)
        {
            var sc = block[106 + ib / 2];
            var db = d * (1 + 2 * ((ib & 1) == 0 ? sc & 0xF : sc >> 4));
            var qh = block[66 + ib];
            for (var l = 0; l < 4; ++l)
            {
                var i1 = block[2 + 8 * ib + 2 * l] | ((qh << (8 - 2 * l)) & 256);
                var i2 = block[3 + 8 * ib + 2 * l] | ((qh << (7 - 2 * l)) & 256);
                var grid = grids[i1] | ((ulong)grids[i2] << 32);
                Point8(db, grid, block[74 + 4 * ib + l], y.Slice(32 * ib + 8 * l, 8));
            }
        }
    }

    public static void Iq3SVector(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Tables.Iq3S;
        var signTable = Tables.Signs;
        ref var output = ref MemoryMarshal.GetReference(y[..SuperBlock]);
        for (var ib = 0; ib < 8; ++ib)
        {
            var sc = block[106 + ib / 2];
            var db = Vector256.Create(d * (1 + 2 * ((ib & 1) == 0 ? sc & 0xF : sc >> 4)));
            var qh = block[66 + ib];
            for (var l = 0; l < 4; ++l)
            {
                var i1 = block[2 + 8 * ib + 2 * l] | ((qh << (8 - 2 * l)) & 256);
                var i2 = block[3 + 8 * ib + 2 * l] | ((qh << (7 - 2 * l)) & 256);
                var signs = signTable[block[74 + 4 * ib + l]];
                (db * Vector256.Create(grids[i1], grids[i2]) * signs).StoreUnsafe(ref output, (nuint)(32 * ib + 8 * l));
            }
        }
    }

    // ---------------------------------------------------------------- IQ1_S (50 bytes: d, qs[32], qh u16[8])

    /// <summary>ggml's <c>IQ1S_DELTA</c> (also <c>IQ1M_DELTA</c>).</summary>
    private const float Iq1Delta = 0.125f;

    public static void Iq1S(ReadOnlySpan<byte> block, Span<float> y)
    {
        if (Vectorized)
        {
            Iq1SVector(block, y);
        }
        else
        {
            Iq1SScalar(block, y);
        }
    }

    public static void Iq1SScalar(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Iq1Grids.Iq1S;
        for (var ib = 0; ib < 8; ++ib)
        {
            var qh = BinaryPrimitives.ReadUInt16LittleEndian(block[(34 + 2 * ib)..]);
            var dl = d * (2 * ((qh >> 12) & 7) + 1);
            var delta = (qh & 0x8000) != 0 ? -Iq1Delta : Iq1Delta;
            for (var l = 0; l < 4; ++l)
            {
                var grid = grids[block[2 + 4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)];
                Shifted8(dl, grid, delta, y.Slice(32 * ib + 8 * l, 8));
            }
        }
    }

    public static void Iq1SVector(ReadOnlySpan<byte> block, Span<float> y)
    {
        var d = ReadHalf(block);
        var grids = Tables.Iq1S;
        ref var output = ref MemoryMarshal.GetReference(y[..SuperBlock]);
        for (var ib = 0; ib < 8; ++ib)
        {
            var qh = BinaryPrimitives.ReadUInt16LittleEndian(block[(34 + 2 * ib)..]);
            var dl = Vector256.Create(d * (2 * ((qh >> 12) & 7) + 1));
            var delta = Vector256.Create((qh & 0x8000) != 0 ? -Iq1Delta : Iq1Delta);
            for (var l = 0; l < 4; ++l)
            {
                var grid = grids[block[2 + 4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)];
                (dl * (grid + delta)).StoreUnsafe(ref output, (nuint)(32 * ib + 8 * l));
            }
        }
    }

    // ---------------------------------------------------------------- IQ1_M (56 bytes: qs[32], qh[16], scales[8]; no d field)

    public static void Iq1M(ReadOnlySpan<byte> block, Span<float> y)
    {
        if (Vectorized)
        {
            Iq1MVector(block, y);
        }
        else
        {
            Iq1MScalar(block, y);
        }
    }

    /// <summary>The fp16 super-scale IQ1_M spreads over the top nibbles of its four 16-bit scale words.</summary>
    private static float Iq1MScale(ReadOnlySpan<byte> block, Span<ushort> sc)
    {
        for (var i = 0; i < 4; ++i)
        {
            sc[i] = BinaryPrimitives.ReadUInt16LittleEndian(block[(48 + 2 * i)..]);
        }
        var bits = (sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) | (sc[3] & 0xF000);
        return Fp16.ToFloat((ushort)bits);
    }

    public static void Iq1MScalar(ReadOnlySpan<byte> block, Span<float> y)
    {
        Span<ushort> sc = stackalloc ushort[4];
        var d = Iq1MScale(block, sc);
        var grids = Iq1Grids.Iq1S;
        for (var ib = 0; ib < 8; ++ib)
        {
            var dl1 = d * (2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1);
            var dl2 = d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1);
            var qh0 = block[32 + 2 * ib];
            var qh1 = block[33 + 2 * ib];
            var qs = block.Slice(4 * ib, 4);
            var out32 = y.Slice(32 * ib, 32);
            Shifted8(dl1, grids[qs[0] | ((qh0 << 8) & 0x700)], (qh0 & 0x08) != 0 ? -Iq1Delta : Iq1Delta, out32[..8]);
            Shifted8(dl1, grids[qs[1] | ((qh0 << 4) & 0x700)], (qh0 & 0x80) != 0 ? -Iq1Delta : Iq1Delta, out32.Slice(8, 8));
            Shifted8(dl2, grids[qs[2] | ((qh1 << 8) & 0x700)], (qh1 & 0x08) != 0 ? -Iq1Delta : Iq1Delta, out32.Slice(16, 8));
            Shifted8(dl2, grids[qs[3] | ((qh1 << 4) & 0x700)], (qh1 & 0x80) != 0 ? -Iq1Delta : Iq1Delta, out32.Slice(24, 8));
        }
    }

    public static void Iq1MVector(ReadOnlySpan<byte> block, Span<float> y)
    {
        Span<ushort> sc = stackalloc ushort[4];
        var d = Iq1MScale(block, sc);
        var grids = Tables.Iq1S;
        var plus = Vector256.Create(Iq1Delta);
        var minus = Vector256.Create(-Iq1Delta);
        ref var output = ref MemoryMarshal.GetReference(y[..SuperBlock]);
        for (var ib = 0; ib < 8; ++ib)
        {
            var dl1 = Vector256.Create(d * (2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1));
            var dl2 = Vector256.Create(d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1));
            var qh0 = block[32 + 2 * ib];
            var qh1 = block[33 + 2 * ib];
            var qs = block.Slice(4 * ib, 4);
            var at = (nuint)(32 * ib);
            (dl1 * (grids[qs[0] | ((qh0 << 8) & 0x700)] + ((qh0 & 0x08) != 0 ? minus : plus))).StoreUnsafe(ref output, at);
            (dl1 * (grids[qs[1] | ((qh0 << 4) & 0x700)] + ((qh0 & 0x80) != 0 ? minus : plus))).StoreUnsafe(ref output, at + 8);
            (dl2 * (grids[qs[2] | ((qh1 << 8) & 0x700)] + ((qh1 & 0x08) != 0 ? minus : plus))).StoreUnsafe(ref output, at + 16);
            (dl2 * (grids[qs[3] | ((qh1 << 4) & 0x700)] + ((qh1 & 0x80) != 0 ? minus : plus))).StoreUnsafe(ref output, at + 24);
        }
    }

    // ---------------------------------------------------------------- shared

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ReadHalf(ReadOnlySpan<byte> block) => Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(block));

    /// <summary>Eight values <c>scale · grid[j] · (sign bit j ? −1 : 1)</c>, grid bytes unsigned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Point8(float scale, ulong grid, int signs, Span<float> y)
    {
        for (var j = 0; j < 8; ++j)
        {
            y[j] = scale * (byte)(grid >> (8 * j)) * ((signs & (1 << j)) != 0 ? -1f : 1f);
        }
    }

    /// <summary>Eight values <c>scale · (grid[j] + δ)</c>, grid bytes signed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Shifted8(float scale, ulong grid, float delta, Span<float> y)
    {
        for (var j = 0; j < 8; ++j)
        {
            y[j] = scale * ((sbyte)(grid >> (8 * j)) + delta);
        }
    }

    /// <summary>The grids as float vectors (one point of 8, or half of two points of 4) and the ±1 sign patterns.</summary>
    private static class Tables
    {
        public static readonly Vector256<float>[] Iq2Xxs = Unsigned8(Iq2Grids.Iq2Xxs);
        public static readonly Vector256<float>[] Iq2Xs = Unsigned8(Iq2Grids.Iq2Xs);
        public static readonly Vector256<float>[] Iq2S = Unsigned8(Iq2Grids.Iq2S);
        public static readonly Vector256<float>[] Iq1S = Signed8(Iq1Grids.Iq1S);
        public static readonly Vector128<float>[] Iq3Xxs = Unsigned4(Iq3Grids.Iq3Xxs);
        public static readonly Vector128<float>[] Iq3S = Unsigned4(Iq3Grids.Iq3S);
        public static readonly Vector256<float>[] Signs = BuildSigns();

        private static Vector256<float>[] Unsigned8(ulong[] grid)
        {
            var table = new Vector256<float>[grid.Length];
            Span<float> lanes = stackalloc float[8];
            for (var i = 0; i < grid.Length; ++i)
            {
                for (var j = 0; j < 8; ++j)
                {
                    lanes[j] = (byte)(grid[i] >> (8 * j));
                }
                table[i] = Vector256.Create<float>(lanes);
            }
            return table;
        }

        private static Vector256<float>[] Signed8(ulong[] grid)
        {
            var table = new Vector256<float>[grid.Length];
            Span<float> lanes = stackalloc float[8];
            for (var i = 0; i < grid.Length; ++i)
            {
                for (var j = 0; j < 8; ++j)
                {
                    lanes[j] = (sbyte)(grid[i] >> (8 * j));
                }
                table[i] = Vector256.Create<float>(lanes);
            }
            return table;
        }

        private static Vector128<float>[] Unsigned4(uint[] grid)
        {
            var table = new Vector128<float>[grid.Length];
            Span<float> lanes = stackalloc float[4];
            for (var i = 0; i < grid.Length; ++i)
            {
                for (var j = 0; j < 4; ++j)
                {
                    lanes[j] = (byte)(grid[i] >> (8 * j));
                }
                table[i] = Vector128.Create<float>(lanes);
            }
            return table;
        }

        private static Vector256<float>[] BuildSigns()
        {
            var table = new Vector256<float>[256];
            Span<float> lanes = stackalloc float[8];
            for (var s = 0; s < 256; ++s)
            {
                for (var j = 0; j < 8; ++j)
                {
                    lanes[j] = (s & (1 << j)) != 0 ? -1f : 1f;
                }
                table[s] = Vector256.Create<float>(lanes);
            }
            return table;
        }
    }
}
