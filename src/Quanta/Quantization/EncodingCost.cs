using Quanta.Formats;

namespace Quanta.Quantization;

/// <summary>
/// What writing one planned tensor costs, in estimated nanoseconds of one thread: what the shard planner
/// balances, so that a shard of K-quant matrices is not given as many bytes as one of copied norms. The
/// figures are fixed constants, not measured at run time, because every task of a sharded run must compute the
/// same plan from the input's header alone, on whatever machine it lands.
/// </summary>
/// <remarks>
/// The encode rates are Quanta's single-thread throughput on 4096 × 4096 rows without an importance matrix
/// (bench/README.md, "Results, 4096 × 4096", 2026-11-22); only their ratios matter for the plan. Every tensor
/// also pays for its bytes: read from the input (on a network mount, often the larger part for a copied
/// tensor) and written to the shard, at an assumed 1 GB/s.
/// </remarks>
public static class EncodingCost
{
    /// <summary>Nanoseconds per input or output byte: 1 GB/s of storage.</summary>
    const long NanosecondsPerByte = 1;

    /// <summary>Estimated nanoseconds for <paramref name="entry"/>: its bytes moved plus its elements encoded.</summary>
    public static long Of(QuantizationPlanEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var io = checked((entry.SourceBytes + entry.TargetBytes) * NanosecondsPerByte);
        if (entry.IsCopied)
        {
            return io;
        }
        return checked(io + entry.Tensor.ElementCount * PicosecondsPerElement(entry.TargetType) / 1000);
    }

    /// <summary>One thread's time to encode one element as <paramref name="type"/>, in picoseconds (10⁶ / Melem/s).</summary>
    public static long PicosecondsPerElement(GgmlType type) => type switch
    {
        GgmlType.F32 => 238,
        GgmlType.F16 => 420,
        GgmlType.BF16 => 198,
        GgmlType.Q4_0 => 471,
        GgmlType.Q4_1 => 490,
        GgmlType.Q5_0 => 505,
        GgmlType.Q5_1 => 493,
        GgmlType.Q8_0 => 486,
        GgmlType.Q2_K => 11_001,
        GgmlType.Q3_K => 5_051,
        GgmlType.Q4_K => 10_309,
        GgmlType.Q5_K => 12_422,
        GgmlType.Q6_K => 8_013,
        GgmlType.IQ4_NL => 17_065,
        GgmlType.IQ4_XS => 17_825,
        GgmlType.TQ1_0 => 429,
        GgmlType.TQ2_0 => 302,
        GgmlType.MXFP4 => 2_230,
        GgmlType.NVFP4 => 2_740,
        GgmlType.Q1_0 => 643,
        GgmlType.Q2_0 => 440,
        GgmlType.IQ3_XXS => 108_696,
        GgmlType.IQ3_S => 78_125,
        // bench/README.md's side-by-side tables (4096 × 256, with importance weights).
        GgmlType.IQ2_XXS => 344_828,
        GgmlType.IQ2_XS => 454_545,
        GgmlType.IQ2_S => 256_410,
        GgmlType.IQ1_S => 116_279,
        GgmlType.IQ1_M => 270_270,
        // Types without a measured encoder: as slow as the slowest K-quant, so they are never under-counted.
        _ => 12_422,
    };
}
