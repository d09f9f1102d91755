namespace Quanta.Codecs.Search;

/// <summary>
/// The lookup tables ggml's <c>iq2xs_init_impl</c> builds for the IQ1_S/IQ1_M grid (<c>kmap_q2xs</c>,
/// <c>kneighbors_q2xs</c>): which grid point a pattern of eight levels (0, 1, 2 for −1, 0, +1; two bits each, as in
/// <c>iq1s_grid</c>'s codes) is, and for a pattern that is not a grid point, its neighbours: every grid point at one
/// of the three smallest distinct squared distances, ordered by distance then index (ggml sorts on both keys, so
/// the order is unique). Only patterns of levels 0..2 are ever looked up, so only those are built.
/// </summary>
internal sealed class Iq1Neighbours
{
    /// <summary>Codes are 16 bits: eight 2-bit levels.</summary>
    private const int CodeCount = 1 << 16;

    /// <summary>ggml's <c>nwant</c> for the 1-bit grid: neighbours come from the three nearest distances.</summary>
    private const int DistancesWanted = 3;

    /// <summary>Largest squared distance between two level patterns: eight coordinates, each at most 2 apart.</summary>
    private const int MaxDistance = 8 * 4;

    private static readonly Lazy<Iq1Neighbours> Shared = new(Build);

    private static readonly byte[] LevelTable = BuildLevels();

    /// <summary>Levels (0, 1, 2) of every grid point, eight bytes a point.</summary>
    public static ReadOnlySpan<byte> Levels => LevelTable;

    /// <summary>Grid index of each code, or −1 when the code is not on the grid.</summary>
    private readonly short[] _gridIndex;

    /// <summary>Where each off-grid code's neighbours start in <see cref="_neighbours"/>, and how many there are.</summary>
    private readonly int[] _start;
    private readonly short[] _count;
    private readonly ushort[] _neighbours;

    private Iq1Neighbours(short[] gridIndex, int[] start, short[] count, ushort[] neighbours)
    {
        _gridIndex = gridIndex;
        _start = start;
        _count = count;
        _neighbours = neighbours;
        (_firstChunk, ChunkLevels, ChunkPoints) = BuildChunks(ChunkLanes);
        (_firstWideChunk, WideChunkLevels, WideChunkPoints) = BuildChunks(WideChunkLanes);
    }

    /// <summary>Lanes per neighbour chunk: one 256-bit vector of floats.</summary>
    public const int ChunkLanes = 8;

    /// <summary>Lanes per wide neighbour chunk: one 512-bit vector of floats.</summary>
    public const int WideChunkLanes = 16;

    private readonly int[] _firstChunk;
    private readonly int[] _firstWideChunk;

    /// <summary>
    /// The neighbour lists again for the lane-parallel search, eight neighbours per chunk (the last chunk padded with
    /// copies of the list's last point, which can never win: ties go to the first). Per chunk, the neighbours'
    /// levels (0, 1, 2) coordinate-major, [coordinate][lane]: 64 bytes (widened to lane indices as they are read;
    /// as bytes the tables are a quarter of the size as ints, and the lists are long — 72 points on average — so
    /// the scan is bound by reading them). Eight bytes of padding at the end let each read take 16.
    /// </summary>
    public byte[] ChunkLevels { get; }

    /// <summary>Per chunk, the neighbours' grid indices (8 per chunk).</summary>
    public ushort[] ChunkPoints { get; }

    /// <summary><see cref="ChunkLevels"/> for sixteen lanes ([coordinate][lane], 128 bytes per chunk), padded the same way.</summary>
    public byte[] WideChunkLevels { get; }

    /// <summary>Per wide chunk, the neighbours' grid indices (16 per chunk).</summary>
    public ushort[] WideChunkPoints { get; }

    /// <summary>The first chunk of an off-grid code's neighbours.</summary>
    public int FirstChunk(int code) => _firstChunk[code];

    /// <summary>How many chunks an off-grid code's neighbours fill.</summary>
    public int ChunkCount(int code) => (_count[code] + ChunkLanes - 1) / ChunkLanes;

    /// <summary>The first wide chunk of an off-grid code's neighbours.</summary>
    public int FirstWideChunk(int code) => _firstWideChunk[code];

    /// <summary>How many wide chunks an off-grid code's neighbours fill.</summary>
    public int WideChunkCount(int code) => (_count[code] + WideChunkLanes - 1) / WideChunkLanes;

    private (int[] First, byte[] Levels, ushort[] Points) BuildChunks(int lanes)
    {
        var first = new int[CodeCount];
        var chunks = 0;
        for (var code = 0; code < CodeCount; ++code)
        {
            first[code] = chunks;
            chunks += (_count[code] + lanes - 1) / lanes;
        }
        var levels = new byte[chunks * 8 * lanes + 8];
        var points = new ushort[chunks * lanes];
        for (var code = 0; code < CodeCount; ++code)
        {
            int count = _count[code];
            var padded = (count + lanes - 1) / lanes * lanes;
            for (var j = 0; j < padded; ++j)
            {
                var point = _neighbours[_start[code] + Math.Min(j, count - 1)];
                var chunk = first[code] + j / lanes;
                var lane = j % lanes;
                points[chunk * lanes + lane] = point;
                for (var i = 0; i < 8; ++i)
                {
                    levels[(chunk * 8 + i) * lanes + lane] = LevelTable[8 * point + i];
                }
            }
        }
        return (first, levels, points);
    }

    /// <summary>The tables, built on first use (a few tens of milliseconds).</summary>
    public static Iq1Neighbours Instance => Shared.Value;

    /// <summary>The grid point whose levels are <paramref name="code"/>, or −1.</summary>
    public int GridIndexOf(int code) => _gridIndex[code];

    /// <summary>The neighbours of an off-grid <paramref name="code"/>, nearest first.</summary>
    public ReadOnlySpan<ushort> NeighboursOf(int code) => _neighbours.AsSpan(_start[code], _count[code]);

    /// <summary>Level (0, 1, 2) of coordinate <paramref name="j"/> of grid point <paramref name="index"/>.</summary>
    public static int LevelOf(int index, int j) => (sbyte)(Iq1Grids.Iq1S[index] >> (8 * j)) + 1;

    private static byte[] BuildLevels()
    {
        var levels = new byte[Iq1Grids.Iq1S.Length * 8];
        for (var i = 0; i < Iq1Grids.Iq1S.Length; ++i)
        {
            for (var j = 0; j < 8; ++j)
            {
                levels[8 * i + j] = (byte)LevelOf(i, j);
            }
        }
        return levels;
    }

    private static Iq1Neighbours Build()
    {
        var grid = Iq1Grids.Iq1S;
        var levels = LevelTable;
        var gridIndex = new short[CodeCount];
        Array.Fill(gridIndex, (short)-1);
        for (var i = 0; i < grid.Length; ++i)
        {
            var code = 0;
            for (var j = 0; j < 8; ++j)
            {
                code |= levels[8 * i + j] << (2 * j);
            }
            gridIndex[code] = (short)i;
        }

        var start = new int[CodeCount];
        var count = new short[CodeCount];
        var neighbours = new List<ushort>(1 << 16);
        var distance = new byte[grid.Length];
        Span<int> pattern = stackalloc int[8];
        Span<bool> present = stackalloc bool[MaxDistance + 1];
        for (var code = 0; code < CodeCount; ++code)
        {
            if (gridIndex[code] >= 0 || !AllLevelsValid(code))
            {
                continue;
            }
            for (var j = 0; j < 8; ++j)
            {
                pattern[j] = (code >> (2 * j)) & 3;
            }
            present.Clear();
            for (var i = 0; i < grid.Length; ++i)
            {
                var d2 = 0;
                for (var j = 0; j < 8; ++j)
                {
                    var diff = levels[8 * i + j] - pattern[j];
                    d2 += diff * diff;
                }
                distance[i] = (byte)d2;
                present[d2] = true;
            }
            start[code] = neighbours.Count;
            var taken = 0;
            for (var d2 = 0; d2 <= MaxDistance && taken < DistancesWanted; ++d2)
            {
                if (!present[d2])
                {
                    continue;
                }
                ++taken;
                for (var i = 0; i < grid.Length; ++i)
                {
                    if (distance[i] == d2)
                    {
                        neighbours.Add((ushort)i);
                    }
                }
            }
            count[code] = (short)(neighbours.Count - start[code]);
        }
        return new Iq1Neighbours(gridIndex, start, count, [.. neighbours]);
    }

    private static bool AllLevelsValid(int code)
    {
        for (var j = 0; j < 8; ++j)
        {
            if (((code >> (2 * j)) & 3) == 3)
            {
                return false;
            }
        }
        return true;
    }
}
