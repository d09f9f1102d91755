namespace Quanta.Codecs.Search;

/// <summary>
/// What ggml's IQ3 quantizers search: the grid points as odd levels 2l + 1 (1 … 15), a map from every one of the
/// 8⁴ level codes to its grid index, and, for the codes off the grid, the grid points nearest to them. Built as
/// ggml's <c>iq3xs_init_impl</c> builds them: for each off-grid code, all points sorted by (squared distance,
/// index) — a total order, so the result does not depend on the sort — and every point within the
/// <c>nwant</c> smallest distances kept, in that order. Built once per grid, on first use, thread-safely.
/// </summary>
internal sealed class Iq3Lattice
{
    /// <summary>Number of level codes: 4 coordinates of 3 bits.</summary>
    public const int CodeCount = 4096;

    private Iq3Lattice(ReadOnlySpan<ushort> levelCodes, int distancesWanted)
    {
        var pointCount = levelCodes.Length;
        Levels = new sbyte[pointCount * 4];
        Map = new int[CodeCount];
        Array.Fill(Map, -1);
        for (var p = 0; p < pointCount; ++p)
        {
            for (var i = 0; i < 4; ++i)
            {
                Levels[4 * p + i] = (sbyte)(2 * ((levelCodes[p] >> (3 * i)) & 7) + 1);
            }
            Map[levelCodes[p]] = p;
        }

        // Keys d²·1024 + index sort as ggml's comparator orders (d², index) pairs.
        var keys = new int[pointCount];
        var lists = new List<ushort>(CodeCount * 8);
        for (var code = 0; code < CodeCount; ++code)
        {
            if (Map[code] >= 0)
            {
                continue;
            }
            for (var p = 0; p < pointCount; ++p)
            {
                var d2 = 0;
                for (var i = 0; i < 4; ++i)
                {
                    var diff = Levels[4 * p + i] - (2 * ((code >> (3 * i)) & 7) + 1);
                    d2 += diff * diff;
                }
                keys[p] = (d2 << 10) | p;
            }
            Array.Sort(keys);

            var start = lists.Count;
            Map[code] = -(start + 1);
            lists.Add(0); // the count, filled in below
            var distance = keys[0] >> 10;
            var distances = 1;
            foreach (var key in keys)
            {
                if (key >> 10 > distance)
                {
                    if (distances == distancesWanted)
                    {
                        break;
                    }
                    distance = key >> 10;
                    ++distances;
                }
                lists.Add((ushort)(key & 1023));
            }
            lists[start] = (ushort)(lists.Count - start - 1);
        }
        Neighbours = [.. lists];
        (FirstChunk, ChunkLevels, ChunkPoints) = BuildChunks();
        ChunkCount = new int[CodeCount];
        for (var code = 0; code < CodeCount; ++code)
        {
            ChunkCount[code] = Map[code] >= 0 ? 0 : (NeighboursOf(Map[code])[0] + ChunkLanes - 1) / ChunkLanes;
        }
    }

    /// <summary>Lanes per neighbour chunk: one 256-bit vector of floats.</summary>
    public const int ChunkLanes = 8;

    /// <summary>
    /// For each off-grid code, the first of its neighbour chunks (the lists again, eight neighbours per chunk,
    /// the last chunk padded); −1 for codes on the grid.
    /// </summary>
    public int[] FirstChunk { get; }

    /// <summary>For each off-grid code, how many chunks its neighbours fill; 0 for codes on the grid.</summary>
    public int[] ChunkCount { get; }

    /// <summary>Per chunk, the neighbours' levels as floats, coordinate-major: [coordinate][lane], 32 floats.</summary>
    public float[] ChunkLevels { get; }

    /// <summary>Per chunk, the neighbours' grid indices (8 per chunk; padding repeats the last).</summary>
    public ushort[] ChunkPoints { get; }

    private (int[] First, float[] Levels, ushort[] Points) BuildChunks()
    {
        var first = new int[CodeCount];
        var chunks = 0;
        for (var code = 0; code < CodeCount; ++code)
        {
            first[code] = Map[code] >= 0 ? -1 : chunks;
            if (Map[code] < 0)
            {
                chunks += (NeighboursOf(Map[code])[0] + ChunkLanes - 1) / ChunkLanes;
            }
        }
        var levels = new float[chunks * 4 * ChunkLanes];
        var points = new ushort[chunks * ChunkLanes];
        for (var code = 0; code < CodeCount; ++code)
        {
            if (first[code] < 0)
            {
                continue;
            }
            var list = NeighboursOf(Map[code]);
            int count = list[0];
            var padded = (count + ChunkLanes - 1) / ChunkLanes * ChunkLanes;
            for (var j = 0; j < padded; ++j)
            {
                var point = list[1 + Math.Min(j, count - 1)];
                var chunk = first[code] + j / ChunkLanes;
                var lane = j % ChunkLanes;
                points[chunk * ChunkLanes + lane] = point;
                for (var i = 0; i < 4; ++i)
                {
                    levels[(chunk * 4 + i) * ChunkLanes + lane] = Levels[4 * point + i];
                }
            }
        }
        return (first, levels, points);
    }

    /// <summary>The IQ3_XXS lattice (256 points, neighbours within the 2 nearest distances).</summary>
    public static Iq3Lattice Xxs => XxsHolder.Instance;

    /// <summary>The IQ3_S lattice (512 points, neighbours within the 3 nearest distances).</summary>
    public static Iq3Lattice S => SHolder.Instance;

    /// <summary>Four odd levels (1 … 15) per grid point: ggml's <c>kgrid_q3xs</c> bytes.</summary>
    public sbyte[] Levels { get; }

    /// <summary>
    /// For each level code (level of coordinate i in bits 3i..3i+2): the grid index when the code is on the grid,
    /// otherwise −(offset + 1) of its neighbour list in <see cref="Neighbours"/>.
    /// </summary>
    public int[] Map { get; }

    /// <summary>Neighbour lists: a count, then that many grid indices, nearest first.</summary>
    public ushort[] Neighbours { get; }

    /// <summary>The neighbour list (count first) of an off-grid code.</summary>
    public ReadOnlySpan<ushort> NeighboursOf(int mapEntry) => Neighbours.AsSpan(-mapEntry - 1);

    // Nested holders: the CLR runs each static initializer once, on first use, under its own lock, so IQ3_S's
    // map is never built by an IQ3_XXS-only run.
    private static class XxsHolder
    {
        public static readonly Iq3Lattice Instance = new(Iq3Grids.XxsLevels, 2);
    }

    private static class SHolder
    {
        public static readonly Iq3Lattice Instance = new(Iq3Grids.SLevels, 3);
    }
}
