using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Quanta.Codecs;
using Quanta.Formats;

namespace Quanta.Benchmarks.Codecs;

/// <summary>
/// The data every codec throughput measurement uses, so the BenchmarkDotNet classes, the stopwatch mode and
/// the C harness described in bench/README.md all see the same shape: rows of N(0, 0.02) values (like trained
/// weights) and one importance weight per column, uniform in (0, 1].
/// </summary>
public static class ThroughputData
{
    public const int DefaultRows = 4096;
    public const int DefaultCols = 256;
    public const int Seed = 42;

    public static float[] Gaussian(int rows, int cols, int seed = Seed)
    {
        var random = new Random(seed);
        var x = new float[checked(rows * cols)];
        for (var i = 0; i < x.Length; i += 2)
        {
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            var r = 0.02 * Math.Sqrt(-2 * Math.Log(u1));
            x[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < x.Length)
            {
                x[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
            }
        }
        return x;
    }

    public static float[] Importance(int cols, int seed = Seed + 1)
    {
        var random = new Random(seed);
        var w = new float[cols];
        for (var i = 0; i < w.Length; i++)
        {
            w[i] = (float)(1.0 - random.NextDouble());
        }
        return w;
    }

    /// <summary>Registered codecs that can encode, in registration order.</summary>
    public static IEnumerable<GgmlType> EncodableTypes() =>
        BlockCodecs.All.Where(c => c.CanEncode).Select(c => c.Type);
}

/// <summary>Adds "Melem/s" (million elements per second) for benchmarks whose operation is one element.</summary>
public sealed class MelemPerSecondColumn : IColumn
{
    public string Id => nameof(MelemPerSecondColumn);
    public string ColumnName => "Melem/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Million elements per second (1000 / mean ns per element)";
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        return stats is null || stats.Mean <= 0 ? "-" : (1000.0 / stats.Mean).ToString("F1", CultureInfo.InvariantCulture);
    }
}

public sealed class ThroughputConfig : ManualConfig
{
    public ThroughputConfig() => AddColumn(new MelemPerSecondColumn());
}

/// <summary>
/// Encode throughput of every registered codec on 4096 rows of 256 N(0, 0.02) values, without and with an
/// importance matrix. One operation is one element, so BenchmarkDotNet's Mean is ns per element.
/// </summary>
[Config(typeof(ThroughputConfig))]
public class CodecEncodeThroughputBenchmarks
{
    const int Rows = ThroughputData.DefaultRows;
    const int Cols = ThroughputData.DefaultCols;
    const int Elements = Rows * Cols;

    float[] x = [];
    float[] importance = [];
    byte[] encoded = [];
    IBlockCodec codec = null!;

    public static IEnumerable<GgmlType> Types() => ThroughputData.EncodableTypes();

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    [Params(false, true)]
    public bool Imatrix { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        codec = BlockCodecs.Get(Type);
        x = ThroughputData.Gaussian(Rows, Cols);
        importance = Imatrix ? ThroughputData.Importance(Cols) : [];
        encoded = new byte[GgmlTypeInfo.Of(Type).RowBytes(Cols) * Rows];
    }

    [Benchmark(OperationsPerInvoke = Elements)]
    public void Encode() => codec.Encode(x, Cols, importance, encoded);
}

/// <summary>Decode throughput of every registered codec (4096 × 256 N(0, 0.02) values, encoded without importance).</summary>
[Config(typeof(ThroughputConfig))]
public class CodecDecodeThroughputBenchmarks
{
    const int Rows = ThroughputData.DefaultRows;
    const int Cols = ThroughputData.DefaultCols;
    const int Elements = Rows * Cols;

    float[] decoded = [];
    byte[] encoded = [];
    IBlockCodec codec = null!;

    public static IEnumerable<GgmlType> Types() => ThroughputData.EncodableTypes();

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        codec = BlockCodecs.Get(Type);
        var x = ThroughputData.Gaussian(Rows, Cols);
        encoded = new byte[GgmlTypeInfo.Of(Type).RowBytes(Cols) * Rows];
        codec.Encode(x, Cols, [], encoded);
        decoded = new float[Elements];
    }

    [Benchmark(OperationsPerInvoke = Elements)]
    public void Decode() => codec.Decode(encoded, decoded);
}

/// <summary>
/// The quick stopwatch mode: <c>throughput [--rows R] [--cols C] [--types A,B] [--runs N]</c>. Single thread,
/// median (and best) of N runs (default 5) after a warm-up of at least half a second per measurement (so tiered JIT has
/// settled), printed as a markdown table comparable with the C harness in bench/README.md.
/// </summary>
public static partial class ThroughputRunner
{
    public static int Run(string[] args)
    {
        var rows = ThroughputData.DefaultRows;
        var cols = ThroughputData.DefaultCols;
        var runs = 5;
        HashSet<string>? only = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows" when i + 1 < args.Length:
                    rows = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--cols" when i + 1 < args.Length:
                    cols = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--runs" when i + 1 < args.Length:
                    runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--cpu-time":
                    threadCpuTime = true;
                    break;
                case "--types" when i + 1 < args.Length:
                    only = new HashSet<string>(
                        args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                        StringComparer.OrdinalIgnoreCase);
                    break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; usage: throughput [--rows R] [--cols C] [--types A,B] [--runs N] [--cpu-time]");
                    return 1;
            }
        }
        if (rows <= 0 || cols <= 0 || runs <= 0)
        {
            Console.Error.WriteLine("rows, cols and runs must be positive");
            return 1;
        }

        var x = ThroughputData.Gaussian(rows, cols);
        var importance = ThroughputData.Importance(cols);
        var decoded = new float[x.Length];
        var elements = (double)x.Length;
        var inv = CultureInfo.InvariantCulture;

        Console.WriteLine(string.Create(inv,
            $"# Quanta, .NET {Environment.Version}, {rows} x {cols}, median (best) of {runs} runs, single thread, AVX-512 {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "on" : "off")}"));
        Console.WriteLine("| type | bpw | enc Melem/s (no im) | enc Melem/s (im) | dec Melem/s | dec GB/s (f32 out) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var codec in BlockCodecs.All)
        {
            var info = GgmlTypeInfo.Of(codec.Type);
            var name = codec.Type.ToString(); // Q4_K, as ggml's enum spells it (info.Name is ggml's "q4_K")
            if (!codec.CanEncode || (only is not null && !only.Contains(name)))
            {
                continue;
            }
            if (cols % info.BlockElements != 0)
            {
                Console.WriteLine($"| {name} | skipped: {cols} columns is not a multiple of {info.BlockElements} |");
                continue;
            }
            var rowBytes = info.RowBytes(cols);
            var encoded = new byte[rowBytes * rows];
            // IQ1_S, IQ2_XXS and IQ2_XS encode only with importance weights, as in ggml.
            var needsImportance = codec is SuperBlockCodec { RequiresImportance: true };
            var plain = needsImportance ? "-" : Rate(elements, Median(() => codec.Encode(x, cols, [], encoded), runs));
            var weighted = Median(() => codec.Encode(x, cols, importance, encoded), runs);
            codec.Encode(x, cols, needsImportance ? importance : [], encoded);
            var decode = Median(() => codec.Decode(encoded, decoded), runs);
            var sb = new StringBuilder();
            sb.Append(inv, $"| {name} | {rowBytes * 8.0 / cols:G4} | {plain} | {Rate(elements, weighted)} | ");
            sb.Append(inv, $"{Rate(elements, decode)} | {elements * 4 / decode.Median / 1e9:F2} |");
            Console.WriteLine(sb.ToString());
        }
        return 0;
    }

    static string Rate(double elements, (double Median, double Best) t) =>
        string.Create(CultureInfo.InvariantCulture, $"{elements / t.Median / 1e6:F1} ({elements / t.Best / 1e6:F1})");

    /// <summary>
    /// Median and fastest seconds of <paramref name="runs"/> calls, after warming up for at least 0.5 s and 3 calls.
    /// The fastest run is printed too: on a shared machine it is the better estimate of uncontended speed.
    /// </summary>
    /// <summary>
    /// <c>--cpu-time</c>: time each run by the CPU time of the calling thread (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>)
    /// instead of the wall clock, so that time the thread spends preempted on a loaded machine is not counted (the
    /// ggml harness has the same switch, see bench/README.md). Caches shared with other processes still slow it.
    /// </summary>
    static bool threadCpuTime;

    const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);

    static double ThreadCpuSeconds() =>
        ClockGetTime(ClockThreadCpuTimeId, out var time) == 0
            ? time.Seconds + time.Nanoseconds * 1e-9
            : throw new PlatformNotSupportedException("--cpu-time needs clock_gettime(CLOCK_THREAD_CPUTIME_ID) (Linux)");

    static (double Median, double Best) Median(Action action, int runs)
    {
        var warm = Stopwatch.StartNew();
        for (var i = 0; i < 3 || warm.Elapsed.TotalSeconds < 0.5; i++)
        {
            action();
        }
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            if (threadCpuTime)
            {
                var start = ThreadCpuSeconds();
                action();
                times[i] = ThreadCpuSeconds() - start;
                continue;
            }
            var t = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(t).TotalSeconds;
        }
        Array.Sort(times);
        return (runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2, times[0]);
    }
}
