namespace Quanta.Codecs.Search;

/// <summary>
/// What ggml's IQ2 quantizers search: the grid points as odd levels 2l + 1 (1, 3, 5), a map from level codes
/// (two bits per coordinate, coordinate i in bits 2i..2i+1) to grid indices, and, for codes off the grid, the
/// grid points nearest to them. Built as ggml's <c>iq2xs_init_impl</c> builds them: for each off-grid code, all
/// points sorted by (squared distance, index) — a total order, so the result does not depend on the sort — and
/// every point within the <c>nwant</c> smallest distances kept, in that order. ggml fills the lists for every
/// 16-bit code; the search clamps levels to 0 … 2, so only the 3⁸ codes without a coordinate 3 are ever looked
/// up, and only those are built here (their lists do not depend on the others). Built once per grid, on first
/// use, thread-safely.
/// </summary>
internal sealed class Iq2Lattice
{
    /// <summary>Coordinates per grid point.</summary>
    public const int Dimensions = 8;

    /// <summary>ggml's <c>kmap_size</c>: codes up to 0xAAAA (every coordinate at level 2), plus one.</summary>
    public const int CodeCount = 43692;

    /// <summary>Largest level the search produces (ggml's <c>kMaxQ - 1</c>).</summary>
    public const int MaxLevel = 2;

    private Iq2Lattice(ReadOnlySpan<ushort> codes, int distancesWanted)
    {
        var pointCount = codes.Length;
        Levels = new sbyte[pointCount * Dimensions];
        Map = new int[CodeCount];
        Array.Fill(Map, int.MinValue);
        for (var p = 0; p < pointCount; ++p)
        {
            for (var i = 0; i < Dimensions; ++i)
            {
                Levels[Dimensions * p + i] = (sbyte)(2 * ((codes[p] >> (2 * i)) & 3) + 1);
            }
            Map[codes[p]] = p;
        }

        // Keys d²·2048 + index sort as ggml's comparator orders (d², index) pairs.
        var keys = new int[pointCount];
        var lists = new List<ushort>(1 << 16);
        for (var code = 0; code < CodeCount; ++code)
        {
            if (Map[code] >= 0 || !IsReachable(code))
            {
                continue;
            }
            for (var p = 0; p < pointCount; ++p)
            {
                var d2 = 0;
                for (var i = 0; i < Dimensions; ++i)
                {
                    var diff = Levels[Dimensions * p + i] - (2 * ((code >> (2 * i)) & 3) + 1);
                    d2 += diff * diff;
                }
                keys[p] = (d2 << 11) | p;
            }
            Array.Sort(keys);

            var start = lists.Count;
            Map[code] = -(start + 1);
            lists.Add(0); // the count, filled in below
            var distance = keys[0] >> 11;
            var distances = 1;
            foreach (var key in keys)
            {
                if (key >> 11 > distance)
                {
                    if (distances == distancesWanted)
                    {
                        break;
                    }
                    distance = key >> 11;
                    ++distances;
                }
                lists.Add((ushort)(key & 2047));
            }
            lists[start] = (ushort)(lists.Count - start - 1);
        }
        Neighbours = [.. lists];
        (ChunkLevels, ChunkPoints) = BuildChunks();
        (WideChunkLevels, WideChunkPoints) = BuildWideChunks();
    }

    /// <summary>Lanes per neighbour chunk: one 256-bit vector of floats.</summary>
    public const int ChunkLanes = 8;

    /// <summary>
    /// The neighbour lists again for the lane-parallel search, eight neighbours per chunk (the last chunk padded
    /// with copies of the list's last point, which can never win: ties go to the first). Chunk c of the list at
    /// <see cref="ChunkStart"/> gives each list's first chunk.
    /// Per chunk, the neighbours' levels (0, 1, 2), coordinate-major: [coordinate][lane], 64 ints: lane
    /// indices into a table of the three possible error terms shared by a pair of coordinates (2k in lanes 0–2,
    /// 2k + 1 in lanes 4–6), so odd coordinates' levels are stored plus 4. Stored as bytes (64 per chunk, widened as
    /// they are read: a quarter of the memory the scan reads as ints), with eight bytes of padding at the end so
    /// that each read may take 16.
    /// </summary>
    public byte[] ChunkLevels { get; }

    /// <summary>Per chunk, the neighbours' grid indices (8 per chunk).</summary>
    public ushort[] ChunkPoints { get; }

    /// <summary>The first chunk of an off-grid code's neighbours, indexed by its list's offset in <see cref="Neighbours"/>.</summary>
    public int ChunkStart(int mapEntry) => _chunkStart[-mapEntry - 1];

    /// <summary>How many chunks an off-grid code's neighbour list fills.</summary>
    public int ChunkCount(int mapEntry) => (Neighbours[-mapEntry - 1] + ChunkLanes - 1) / ChunkLanes;

    private int[] _chunkStart = [];

    private (byte[] Levels, ushort[] Points) BuildChunks()
    {
        _chunkStart = new int[Neighbours.Length];
        var chunks = 0;
        for (var at = 0; at < Neighbours.Length; at += Neighbours[at] + 1)
        {
            _chunkStart[at] = chunks;
            chunks += (Neighbours[at] + ChunkLanes - 1) / ChunkLanes;
        }
        var levels = new byte[chunks * Dimensions * ChunkLanes + 8];
        var points = new ushort[chunks * ChunkLanes];
        for (var at = 0; at < Neighbours.Length; at += Neighbours[at] + 1)
        {
            int count = Neighbours[at];
            var padded = (count + ChunkLanes - 1) / ChunkLanes * ChunkLanes;
            for (var j = 0; j < padded; ++j)
            {
                var point = Neighbours[at + 1 + Math.Min(j, count - 1)];
                var chunk = _chunkStart[at] + j / ChunkLanes;
                var lane = j % ChunkLanes;
                points[chunk * ChunkLanes + lane] = point;
                for (var i = 0; i < Dimensions; ++i)
                {
                    levels[(chunk * Dimensions + i) * ChunkLanes + lane] = (byte)((Levels[Dimensions * point + i] - 1) / 2 + 4 * (i & 1));
                }
            }
        }
        return (levels, points);
    }

    /// <summary>Lanes per wide neighbour chunk: one 512-bit vector of floats.</summary>
    public const int WideChunkLanes = 16;

    /// <summary>
    /// <see cref="ChunkLevels"/> for sixteen lanes, as bytes ([coordinate][lane], 128 per chunk, odd coordinates plus 4),
    /// padded the same way; chunk c of an off-grid code's list is <see cref="WideChunkStart"/> + c.
    /// </summary>
    public byte[] WideChunkLevels { get; }

    /// <summary>Per wide chunk, the neighbours' grid indices (16 per chunk).</summary>
    public ushort[] WideChunkPoints { get; }

    /// <summary>The first wide chunk of an off-grid code's neighbours.</summary>
    public int WideChunkStart(int mapEntry) => _wideChunkStart[-mapEntry - 1];

    /// <summary>How many wide chunks an off-grid code's neighbour list fills.</summary>
    public int WideChunkCount(int mapEntry) => (Neighbours[-mapEntry - 1] + WideChunkLanes - 1) / WideChunkLanes;

    private int[] _wideChunkStart = [];

    private (byte[] Levels, ushort[] Points) BuildWideChunks()
    {
        _wideChunkStart = new int[Neighbours.Length];
        var chunks = 0;
        for (var at = 0; at < Neighbours.Length; at += Neighbours[at] + 1)
        {
            _wideChunkStart[at] = chunks;
            chunks += (Neighbours[at] + WideChunkLanes - 1) / WideChunkLanes;
        }
        var levels = new byte[chunks * Dimensions * WideChunkLanes];
        var points = new ushort[chunks * WideChunkLanes];
        for (var at = 0; at < Neighbours.Length; at += Neighbours[at] + 1)
        {
            int count = Neighbours[at];
            var padded = (count + WideChunkLanes - 1) / WideChunkLanes * WideChunkLanes;
            for (var j = 0; j < padded; ++j)
            {
                var point = Neighbours[at + 1 + Math.Min(j, count - 1)];
                var chunk = _wideChunkStart[at] + j / WideChunkLanes;
                var lane = j % WideChunkLanes;
                points[chunk * WideChunkLanes + lane] = point;
                for (var i = 0; i < Dimensions; ++i)
                {
                    levels[(chunk * Dimensions + i) * WideChunkLanes + lane] = (byte)((Levels[Dimensions * point + i] - 1) / 2 + 4 * (i & 1));
                }
            }
        }
        return (levels, points);
    }

    /// <summary>The IQ2_XXS lattice (256 points, neighbours within the 2 nearest distances).</summary>
    public static Iq2Lattice Xxs => XxsHolder.Instance;

    /// <summary>The IQ2_XS lattice (512 points, neighbours within the 2 nearest distances).</summary>
    public static Iq2Lattice Xs => XsHolder.Instance;

    /// <summary>The IQ2_S lattice (1024 points, neighbours at the nearest distance only).</summary>
    public static Iq2Lattice S => SHolder.Instance;

    /// <summary>Eight odd levels (1, 3, 5) per grid point: ggml's <c>kgrid_q2xs</c> bytes.</summary>
    public sbyte[] Levels { get; }

    /// <summary>
    /// For each reachable level code: the grid index when the code is on the grid, otherwise −(offset + 1) of its
    /// neighbour list in <see cref="Neighbours"/>. Codes with a coordinate at level 3 are never looked up.
    /// </summary>
    public int[] Map { get; }

    /// <summary>Neighbour lists: a count, then that many grid indices, nearest first.</summary>
    public ushort[] Neighbours { get; }

    /// <summary>The neighbour list (count first) of an off-grid code.</summary>
    public ReadOnlySpan<ushort> NeighboursOf(int mapEntry) => Neighbours.AsSpan(-mapEntry - 1);

    /// <summary>Whether every coordinate of a code is at most <see cref="MaxLevel"/>, as the search's clamp makes it.</summary>
    private static bool IsReachable(int code)
    {
        for (var i = 0; i < Dimensions; ++i)
        {
            if (((code >> (2 * i)) & 3) > MaxLevel)
            {
                return false;
            }
        }
        return true;
    }

    // Nested holders: the CLR runs each static initializer once, on first use, under its own lock, so one
    // format's tables are never built by a run that writes another.
    private static class XxsHolder
    {
        public static readonly Iq2Lattice Instance = new(Iq2Grids.Iq2XxsCodes, 2);
    }

    private static class XsHolder
    {
        public static readonly Iq2Lattice Instance = new(Iq2Grids.Iq2XsCodes, 2);
    }

    private static class SHolder
    {
        public static readonly Iq2Lattice Instance = new(Iq2Grids.Iq2SCodes, 1);
    }
}
