namespace Quanta.Inference.Kernels;

/// <summary>
/// A weight row unpacked once for a whole batch of tokens (the K-quant products without register tiles, Q3_K and
/// Q5_K): its levels, small integers (scales, mins) and floats (d, dmin), per thread and grown to the longest row seen,
/// so a batch allocates nothing after the first.
/// </summary>
internal sealed class UnpackedRow
{
    [ThreadStatic]
    static UnpackedRow? s_current;

    public sbyte[] Levels { get; private set; } = [];

    public int[] Integers { get; private set; } = [];

    public float[] Floats { get; private set; } = [];

    /// <summary>This thread's row, with room for <paramref name="blocks"/> super-blocks of 256 levels, <paramref name="integersPerBlock"/> integers and <paramref name="floatsPerBlock"/> floats each.</summary>
    public static UnpackedRow For(int blocks, int integersPerBlock, int floatsPerBlock)
    {
        var row = s_current ??= new UnpackedRow();
        if (row.Levels.Length < blocks * 256)
        {
            row.Levels = new sbyte[blocks * 256];
        }
        if (row.Integers.Length < blocks * integersPerBlock)
        {
            row.Integers = new int[blocks * integersPerBlock];
        }
        if (row.Floats.Length < blocks * floatsPerBlock)
        {
            row.Floats = new float[blocks * floatsPerBlock];
        }
        return row;
    }
}
