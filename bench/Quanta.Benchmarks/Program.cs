using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Running;
using Quanta.Benchmarks.Codecs;
using Quanta.Benchmarks.Gguf;

// Whole-process entries for the scripts in bench/, next to the BenchmarkDotNet micro benchmarks:
//   generate-gguf OUT                          writes the ~1 GB synthetic model
//   copy IN OUT [--chunk BYTES] [--no-fsync]   copies it through GgufWriter and prints the rate
//   throughput [--rows R] [--cols C] [--types A,B] [--runs N]
//                                              codec encode/decode Melem/s table (stopwatch, single thread)
//   inference-profile MODEL [--tokens 1,128] [--threads 2] [--runs 3]
//                                              time per matrix kind and type of a forward pass, and the rest
//   f16-kernels [--rows R] [--cols C] [--tokens T] [--runs N]
//                                              F16 weight kernels, single thread, variants interleaved
switch (args.FirstOrDefault())
{
    case "generate-gguf" when args.Length == 2:
        GgufBenchFiles.Generate(args[1]);
        return 0;
    case "copy" when args.Length >= 3:
        var chunk = 4 << 20;
        var fsync = true;
        for (var i = 3; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--chunk" when i + 1 < args.Length:
                    chunk = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--no-fsync":
                    fsync = false;
                    break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 1;
            }
        }
        var watch = Stopwatch.StartNew();
        GgufBenchFiles.Copy(args[1], args[2], chunk, fsync);
        watch.Stop();
        var bytes = new FileInfo(args[2]).Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"quanta copy: {bytes} bytes in {watch.Elapsed.TotalSeconds:F3} s = {bytes / 1e6 / watch.Elapsed.TotalSeconds:F0} MB/s (chunk {chunk}, fsync {fsync})"));
        return 0;
    case "throughput":
        return ThroughputRunner.Run(args[1..]);
    case "inference-profile":
        return Quanta.Benchmarks.Inference.InferenceProfile.Run(args[1..]);
    case "f16-kernels":
        return Quanta.Benchmarks.Inference.F16KernelTimes.Run(args[1..]);
    default:
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
}
