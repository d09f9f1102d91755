using System.Diagnostics;
using Quanta.Conversion.Tokenizers;

namespace Quanta.Tests.Conversion.Tokenizers;

/// <summary>
/// Mutated tokenizer.model files must parse or end in <see cref="TokenizerFormatException"/>: no other
/// exception, no hang, no allocation out of proportion to the file.
/// </summary>
public class SentencePieceFuzzTests
{
    [Fact]
    public void Mutated_small_models_give_only_format_errors() => Fuzz(ProtobufBuilder.SmallModel(), 20_000);

    [Fact]
    public void Mutated_llama2_models_give_only_format_errors()
    {
        // The real file is 500 kB; its first 4 kB (pieces) and last 4 kB (trainer and normalizer specs,
        // preceded by a cut piece) keep each case fast while mutating realistic bytes.
        var real = File.ReadAllBytes(Path.Combine(TokenizerFixtures.Root, "tokenizer.model"));
        Fuzz(real[..4096], 3_000, minimumParsed: false);
        Fuzz(real, 150, minimumParsed: false);
    }

    static void Fuzz(byte[] seed, int cases, bool minimumParsed = true)
    {
        var parsed = 0;
        var refused = 0;
        for (var i = 0; i < cases; i++)
        {
            var data = Mutate(new Random(i), seed);
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            try
            {
                var model = SentencePieceModel.Parse(data, $"fuzz-{i}.model");
                Assert.NotEmpty(model.Pieces);
                parsed++;
            }
            catch (TokenizerFormatException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i}: {e.GetType().Name} escaped: {e.Message}");
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            Assert.True(allocated < (64L * data.Length) + (1 << 20), $"case {i}: allocated {allocated} bytes for {data.Length}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"case {i}: took {clock.Elapsed}");
        }
        Assert.True(refused > 0, "no mutation was refused");
        if (minimumParsed)
        {
            Assert.True(parsed > cases / 50, $"only {parsed} mutated models parsed");
        }
    }

    static byte[] Mutate(Random random, byte[] seed)
    {
        var data = (byte[])seed.Clone();
        switch (random.Next(5))
        {
            case 0:
                for (var n = random.Next(1, 6); n > 0; n--)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }
                return data;
            case 1:
                for (var n = random.Next(1, 4); n > 0; n--)
                {
                    data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                }
                return data;
            case 2:
                return data[..random.Next(data.Length)];
            case 3:
                // Forge a huge varint (a length or a value) somewhere.
                var at = random.Next(data.Length);
                for (var j = at; j < Math.Min(data.Length, at + random.Next(1, 11)); j++)
                {
                    data[j] = 0xFF;
                }
                return data;
            default:
                var insert = new byte[random.Next(1, 8)];
                random.NextBytes(insert);
                var position = random.Next(data.Length + 1);
                return [.. data[..position], .. insert, .. data[position..]];
        }
    }
}
