using System.Diagnostics;
using System.Text;
using Quanta.Formats.Safetensors;

namespace Quanta.Tests.Formats.Safetensors;

/// <summary>
/// Mutated safetensors files must end in <see cref="SafetensorsFormatException"/> or open cleanly: never
/// another exception, a hang, or an allocation out of proportion to the file.
/// </summary>
public class SafetensorsFuzzTests
{
    const int Cases = 6_000;

    static readonly byte[][] Seeds = [SafetensorsBytes.Small(), SafetensorsBytes.AllTypes()];

    static readonly string[] JsonFragments =
    [
        "0", "-1", "18446744073709551615", "9223372036854775807", "1e300", "1.5", "\"\"", "null", "[]", "{}", "\"F32\"", "\"BF16\"",
        "\"__metadata__\"", ",", ":", "\"data_offsets\"", "\"shape\"", "[0,0]", "[99999999,4]", "\"\\u0000\"", "\"\\ud800\"",
    ];

    [Fact]
    public void Mutated_files_give_only_format_errors()
    {
        var opened = 0;
        var refused = 0;
        for (var seed = 0; seed < Cases; seed++)
        {
            var random = new Random(seed);
            var file = Mutate(random, Seeds[seed % Seeds.Length]);
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            try
            {
                using var st = SafetensorsFile.FromBytes(file, $"fuzz-{seed}.safetensors");
                foreach (var tensor in st.Tensors)
                {
                    var floats = new float[tensor.ElementCount];
                    tensor.ReadFloats(0, floats, new byte[tensor.ByteSize]);
                }
                opened++;
            }
            catch (SafetensorsFormatException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}: {e.GetType().Name} escaped: {e.Message}");
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            Assert.True(allocated < (64L * file.Length) + (1 << 20), $"seed {seed}: allocated {allocated} bytes for a {file.Length}-byte file");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"seed {seed}: took {clock.Elapsed}");
        }
        Assert.True(opened > Cases / 100, $"only {opened} mutated files opened");
        Assert.True(refused > Cases / 3, $"only {refused} mutated files were refused");
    }

    static byte[] Mutate(Random random, byte[] seed)
    {
        var file = (byte[])seed.Clone();
        var headerLength = (int)BitConverter.ToUInt64(file, 0);
        switch (random.Next(6))
        {
            case 0:
                // Random bytes anywhere.
                for (var i = random.Next(1, 6); i > 0; i--)
                {
                    file[random.Next(file.Length)] = (byte)random.Next(256);
                }
                return file;
            case 1:
                // A forged header length.
                ulong[] lengths = [0, 1, 2, (ulong)headerLength - 1, (ulong)headerLength + 1, (ulong)file.Length, 100_000_000, 100_000_001, ulong.MaxValue, 1UL << 63];
                BitConverter.GetBytes(lengths[random.Next(lengths.Length)]).CopyTo(file, 0);
                return file;
            case 2:
                // Truncated.
                return file[..random.Next(file.Length)];
            case 3:
            case 4:
            {
                // A JSON token replaced: digits, names, punctuation.
                var header = Encoding.UTF8.GetString(file, 8, headerLength);
                var at = random.Next(header.Length);
                var length = random.Next(1, 8);
                length = Math.Min(length, header.Length - at);
                header = header[..at] + JsonFragments[random.Next(JsonFragments.Length)] + header[(at + length)..];
                return SafetensorsBytes.Build(header, file[(8 + headerLength)..]);
            }
            default:
            {
                // Digits in data_offsets and shapes nudged: overlaps, gaps, wrong sizes.
                var header = Encoding.UTF8.GetString(file, 8, headerLength).ToCharArray();
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    var digits = Enumerable.Range(0, header.Length).Where(j => char.IsDigit(header[j])).ToArray();
                    header[digits[random.Next(digits.Length)]] = (char)('0' + random.Next(10));
                }
                return SafetensorsBytes.Build(new string(header), file[(8 + headerLength)..]);
            }
        }
    }
}
