using System.Globalization;
using System.Runtime.InteropServices;
using Quanta.Formats;
using Quanta.Inference.Kernels;

namespace Quanta.Benchmarks.Inference;

/// <summary>
/// <c>f16-kernels [--rows 5632] [--cols 2048] [--tokens 128] [--runs 7]</c>: single-thread thread CPU times of the F16
/// weight kernels on one matrix of the benchmark model's FFN shape, the variants interleaved in one process so a
/// loaded machine falls on all alike: one token (generation) through <c>FloatVecDot</c> (every weight widened by
/// <see cref="HalfWidening"/>) and through <see cref="F16ScaledDot"/>, and a batch through the tinyBLAS tiles
/// (<c>FloatMatrix.MultiplyFloat</c> on widened blocks of rows, and <c>FloatMatrix.MultiplyHalves</c> converting in the tile; four chunks of rows as <c>MatMul</c> hands them out with 2 threads). Best of N runs.
/// </summary>
internal static unsafe class F16KernelTimes
{
    public static int Run(string[] args)
    {
        int rows = 5632, cols = 2048, tokens = 128, runs = 7;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--rows": rows = value; break;
                case "--cols": cols = value; break;
                case "--tokens": tokens = value; break;
                case "--runs": runs = value; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 1;
            }
        }
        var random = new Random(42);
        var weights = new ushort[(long)rows * cols];
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = Fp16.FromFloat(Normal(random) * 0.02f);
        }
        var activations = new float[(long)tokens * cols];
        for (var i = 0; i < activations.Length; i++)
        {
            activations[i] = Fp16.ToFloat(Fp16.FromFloat(Normal(random)));
        }
        var scaled = new float[cols];
        var allScaled = new float[activations.Length];
        var output = new float[(long)tokens * rows];
        var width = KernelWidths.Current;
        var chunkRows = Math.Max(4, rows / 16 / 4 * 4);
        var best = new double[4];
        Array.Fill(best, double.MaxValue);
        fixed (ushort* w = weights)
        fixed (float* x = activations, s = scaled, xs = allScaled, y = output)
        {
            for (var run = 0; run < runs; run++)
            {
                var start = ThreadSeconds();
                for (var r = 0; r < rows; r++)
                {
                    y[r] = FloatVecDot.Dot<F16Row, F32Row>(w + ((long)r * cols), x, cols, true, width);
                }
                best[0] = Math.Min(best[0], ThreadSeconds() - start);
                start = ThreadSeconds();
                F16ScaledDot.Scale(x, s, cols);
                for (var r = 0; r < rows; r++)
                {
                    y[r] = F16ScaledDot.Dot(w + ((long)r * cols), x, s, cols, true, width);
                }
                best[1] = Math.Min(best[1], ThreadSeconds() - start);
                start = ThreadSeconds();
                for (var r0 = 0; r0 + chunkRows <= rows && r0 < 4 * chunkRows; r0 += chunkRows)
                {
                    FloatMatrix.MultiplyFloat<F16Row>(
                        new ReadOnlySpan<byte>(w + ((long)r0 * cols), chunkRows * cols * sizeof(ushort)), cols * sizeof(ushort), chunkRows,
                        x, cols, tokens, cols, new Span<float>(y + r0, ((tokens - 1) * rows) + chunkRows), rows, true, width);
                }
                best[2] = Math.Min(best[2], ThreadSeconds() - start);
                start = ThreadSeconds();
                F16ScaledDot.Scale(x, xs, tokens * cols);
                for (var r0 = 0; r0 + chunkRows <= rows && r0 < 4 * chunkRows; r0 += chunkRows)
                {
                    FloatMatrix.MultiplyHalves(
                        new ReadOnlySpan<byte>(w + ((long)r0 * cols), chunkRows * cols * sizeof(ushort)), cols * sizeof(ushort), chunkRows,
                        x, xs, cols, tokens, cols, new Span<float>(y + r0, ((tokens - 1) * rows) + chunkRows), rows, width);
                }
                best[3] = Math.Min(best[3], ThreadSeconds() - start);
            }
        }
        var matrixBytes = (double)rows * cols * sizeof(ushort);
        var flops = 2.0 * Math.Min(4, rows / chunkRows) * chunkRows * cols * tokens;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows} × {cols} F16, {width}, single thread, thread CPU time, best of {runs}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"one token, FloatVecDot (widened weights):  {best[0] * 1e3,8:F2} ms  {matrixBytes / best[0] / 1e9,6:F2} GB/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"one token, F16ScaledDot:                  {best[1] * 1e3,8:F2} ms  {matrixBytes / best[1] / 1e9,6:F2} GB/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{tokens} tokens, tiles, 4 chunks of {chunkRows} rows, widened blocks:      {best[2] * 1e3,8:F2} ms  {flops / best[2] / 1e9,6:F1} GFLOP/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{tokens} tokens, tiles, 4 chunks of {chunkRows} rows, halves in the tile: {best[3] * 1e3,8:F2} ms  {flops / best[3] / 1e9,6:F1} GFLOP/s"));
        return 0;
    }

    /// <summary>This thread's CPU time (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>): on a shared machine, time the thread ran.</summary>
    static double ThreadSeconds()
    {
        ClockGetTime(3, out var time);
        return time.Seconds + (time.Nanoseconds * 1e-9);
    }

    [StructLayout(LayoutKind.Sequential)]
    struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    static extern int ClockGetTime(int clock, out TimeSpec time);

    static float Normal(Random random)
    {
        var u = 1.0 - random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * random.NextDouble()));
    }
}
