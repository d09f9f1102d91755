namespace Quanta.Formats.Imatrix;

/// <summary>
/// What llama-imatrix gathers for one weight (<c>Stats</c> in tools/imatrix/imatrix.cpp): for each of
/// <see cref="MatrixCount"/> matrices (one, or one per expert of a <c>*_exps</c> tensor) and each of its
/// <see cref="Columns"/> input columns, the sum of the squared activations that column saw
/// (<see cref="SquaredSums"/>, the GGUF file's <c>in_sum2</c>) and, where known, their plain sum
/// (<see cref="Sums"/>, <c>in_sum</c>); the number of activation rows (tokens) behind each matrix's sums
/// (<see cref="Counts"/>), and how many matrix multiplications fed it (<see cref="Calls"/>, the legacy
/// <c>.dat</c>'s <c>ncall</c>). The arrays are the caller's; accumulating adds into them in place.
/// </summary>
public sealed class ImportanceMatrixEntry
{
    public ImportanceMatrixEntry(string name, float[] squaredSums, long[] counts, float[]? sums = null, int calls = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(squaredSums);
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Length == 0 || squaredSums.Length == 0 || squaredSums.Length % counts.Length != 0)
        {
            throw new ArgumentException($"'{name}': {squaredSums.Length} sums cannot be shared by {counts.Length} matrices", nameof(counts));
        }
        if (sums is not null && sums.Length != squaredSums.Length)
        {
            throw new ArgumentException($"'{name}': {sums.Length} sums beside {squaredSums.Length} squared sums", nameof(sums));
        }
        Name = name;
        SquaredSums = squaredSums;
        Counts = counts;
        Sums = sums;
        Calls = calls;
    }

    /// <summary>An empty entry for <paramref name="matrices"/> matrices of <paramref name="columns"/> columns.</summary>
    public static ImportanceMatrixEntry Empty(string name, int columns, int matrices = 1, bool withSums = true) =>
        new(name, new float[checked(columns * matrices)], new long[matrices], withSums ? new float[columns * matrices] : null);

    /// <summary>The weight's name (<c>blk.0.attn_q.weight</c>).</summary>
    public string Name { get; }

    public float[] SquaredSums { get; }

    public float[]? Sums { get; }

    public long[] Counts { get; }

    /// <summary>Matrix multiplications that fed this entry; 0 when the file did not say (a GGUF imatrix).</summary>
    public int Calls { get; set; }

    public int MatrixCount => Counts.Length;

    public int Columns => SquaredSums.Length / Counts.Length;

    /// <summary>Whether some matrix (an expert no token was routed to) has no data.</summary>
    public bool IsPartial => Counts.Any(c => c == 0);
}
