using System.Buffers.Binary;
using System.Diagnostics;
using Quanta.Formats.Gguf;

namespace Quanta.Tests.Formats.Gguf;

/// <summary>
/// Mutated GGUF files must end in <see cref="GgufFormatException"/> or open cleanly: never another
/// exception, a hang, or an allocation out of proportion to the file.
/// </summary>
public class GgufFuzzTests
{
    const int Cases = 12_000;

    static readonly byte[][] Seeds =
    [
        GgufBytes.Small().Build(),
        GgufBytes.Vocabulary().Build(),
        GgufBytes.Small().U32("general.alignment", 64).Build(),
    ];

    static readonly ulong[] HugeValues =
    [
        ulong.MaxValue, 1UL << 63, (1UL << 63) - 1, 1UL << 32, int.MaxValue, (ulong)int.MaxValue + 1, 0x7FFF_FFFF_FFFF_FFF0, 0, 1, 64,
    ];

    [Fact]
    public void Mutated_files_give_only_format_errors()
    {
        var opened = 0;
        var refused = 0;
        for (var seed = 0; seed < Cases; seed++)
        {
            var file = Mutate(new Random(seed), Seeds[seed % Seeds.Length]);
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            try
            {
                using var gguf = GgufFile.FromBytes(file, $"fuzz-{seed}.gguf");
                long sum = 0;
                foreach (var tensor in gguf.Tensors)
                {
                    foreach (var b in tensor.Data)
                    {
                        sum += b;
                    }
                }
                foreach (var (_, value) in gguf.Metadata)
                {
                    _ = value.ToString();
                }
                GC.KeepAlive(sum);
                opened++;
            }
            catch (GgufFormatException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}: {e.GetType().Name} escaped: {e.Message}");
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            // Decoded strings and per-item objects cost a small multiple of their bytes; nothing may scale with a forged count.
            Assert.True(allocated < (32L * file.Length) + (1 << 20), $"seed {seed}: allocated {allocated} bytes for a {file.Length}-byte file");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"seed {seed}: took {clock.Elapsed}");
        }
        // Both outcomes must be common, or the mutations are not exercising the parser.
        Assert.True(opened > Cases / 50, $"only {opened} mutated files opened");
        Assert.True(refused > Cases / 2, $"only {refused} mutated files were refused");
    }

    static byte[] Mutate(Random random, byte[] seed)
    {
        var file = (byte[])seed.Clone();
        switch (random.Next(6))
        {
            case 0:
                for (var i = random.Next(1, 9); i > 0; i--)
                {
                    file[random.Next(file.Length)] = (byte)random.Next(256);
                }
                return file;
            case 1:
                return file[..random.Next(file.Length)];
            case 2:
                var at = random.Next(file.Length - 8);
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(at), HugeValues[random.Next(HugeValues.Length)]);
                return file;
            case 3:
                var at32 = random.Next(file.Length - 4);
                BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(at32), random.Next(-2, 50));
                return file;
            case 4:
                var start = random.Next(file.Length);
                var length = random.Next(1, Math.Min(64, file.Length - start) + 1);
                return [.. file[..start], .. file[(start + length)..]];
            default:
                var insertAt = random.Next(file.Length);
                var inserted = new byte[random.Next(1, 33)];
                random.NextBytes(inserted);
                return [.. file[..insertAt], .. inserted, .. file[insertAt..]];
        }
    }
}
