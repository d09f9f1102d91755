using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Quanta.Formats.PyTorch;

namespace Quanta.Tests.Formats.PyTorch;

public class PyTorchCheckpointTests
{
    internal static TorchZipBuilder Sample()
    {
        var int8 = new byte[6 * 32];
        for (var i = 0; i < int8.Length; i++)
        {
            int8[i] = (byte)(i * 37);
        }
        var bf16 = new byte[12];
        for (var i = 0; i < 6; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bf16.AsSpan(i * 2), Quanta.Formats.BFloat16.FromFloat(0.01f * (i + 1)));
        }
        var f32 = MemoryMarshal.AsBytes(new float[] { 1, 2, 3, 4, 5, 6 }.AsSpan()).ToArray();
        var f16 = new byte[8];
        return new TorchZipBuilder()
            .Add("model.layers.0.mlp.down_proj.weight", PyTorchDType.Int8, [6, 32], int8)
            .Add("model.layers.0.mlp.down_proj.weight_scaler", PyTorchDType.BFloat16, [6], bf16)
            .Add("model.norm.weight", PyTorchDType.Float32, [2, 3], f32)
            .Add("half", PyTorchDType.Float16, [4], f16);
    }

    [Theory]
    [InlineData(false, "model_state_dict")]
    [InlineData(true, "model_state_dict")]
    [InlineData(false, null)]
    public void Reads_tensors_of_a_torch_save_zip(bool zip64, string? wrap)
    {
        var builder = Sample();
        using var checkpoint = PyTorchCheckpoint.FromBytes(builder.Build(wrap, zip64));
        Assert.Equal(["model.layers.0.mlp.down_proj.weight", "model.layers.0.mlp.down_proj.weight_scaler", "model.norm.weight", "half"], checkpoint.Tensors.Select(t => t.Name));
        var weight = checkpoint["model.layers.0.mlp.down_proj.weight"];
        Assert.Equal(PyTorchDType.Int8, weight.DType);
        Assert.Equal([6L, 32], weight.Shape);
        Assert.Equal([32L, 1], weight.Strides);
        Assert.True(weight.IsContiguous);
        Assert.Equal((byte)37, weight.Data[1]);
        Assert.Equal(192, weight.Data.Length);
        var norm = checkpoint["model.norm.weight"];
        Assert.Equal([1f, 2, 3, 4, 5, 6], MemoryMarshal.Cast<byte, float>(norm.Data).ToArray());
        Assert.Equal(PyTorchDType.BFloat16, checkpoint["model.layers.0.mlp.down_proj.weight_scaler"].DType);
        Assert.Equal(PyTorchDType.Float16, checkpoint["half"].DType);
        Assert.Equal(wrap is null ? checkpoint.Tensors.Select(t => t.Name) : ["model_state_dict"], checkpoint.TopLevelKeys);
    }

    [Fact]
    public void Strided_views_copy_in_row_major_order()
    {
        var f32 = MemoryMarshal.AsBytes(new float[] { 1, 2, 3, 4, 5, 6 }.AsSpan()).ToArray();
        var bytes = new TorchZipBuilder()
            .Add("m", PyTorchDType.Float32, [2, 3], f32)
            .AddView("t", "m", [3, 2], [1, 3], 0)
            .AddView("tail", "m", [2], [1], 4)
            .Build();
        using var checkpoint = PyTorchCheckpoint.FromBytes(bytes);
        var t = checkpoint["t"];
        Assert.False(t.IsContiguous);
        var copy = new byte[t.ByteSize];
        t.CopyTo(copy);
        Assert.Equal([1f, 4, 2, 5, 3, 6], MemoryMarshal.Cast<byte, float>(copy).ToArray());
        Assert.Throws<InvalidOperationException>(() => checkpoint["t"].Data.Length);
        Assert.Equal([5f, 6], MemoryMarshal.Cast<byte, float>(checkpoint["tail"].Data).ToArray());
    }

    [Fact]
    public void Reads_from_a_file_on_disk()
    {
        var path = Path.Combine(Path.GetTempPath(), $"quanta-{Guid.NewGuid():N}.ckpt");
        File.WriteAllBytes(path, Sample().Build());
        try
        {
            using var checkpoint = PyTorchCheckpoint.Open(path);
            Assert.Equal(4, checkpoint.Tensors.Count);
            Assert.Equal((byte)74, checkpoint.Tensors[0].Data[2]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("torch", "load")]
    [InlineData("torch._utils", "_rebuild_qtensor")]
    public void Refuses_globals_outside_the_allowed_list(string module, string name)
    {
        var bytes = Sample().Build(extra: p => p.Unicode("evil").Global(module, name).Mark().Unicode("echo").Tuple().Reduce());
        var e = Assert.Throws<PyTorchFormatException>(() => PyTorchCheckpoint.FromBytes(bytes));
        Assert.Contains($"'{module}.{name}' is not allowed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_opcodes_torch_save_does_not_use()
    {
        // INST ('i') would instantiate an arbitrary class.
        var bytes = Sample().Build(extra: p => p.Unicode("x").Op((byte)'i').Raw("os\nsystem\n"u8));
        var e = Assert.Throws<PyTorchFormatException>(() => PyTorchCheckpoint.FromBytes(bytes));
        Assert.Contains("opcode 0x69", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_view_outside_its_storage()
    {
        var bytes = new TorchZipBuilder()
            .Add("m", PyTorchDType.Float32, [2, 3], new byte[24])
            .AddView("bad", "m", [2, 3], [3, 1], 1)
            .Build();
        var e = Assert.Throws<PyTorchFormatException>(() => PyTorchCheckpoint.FromBytes(bytes));
        Assert.Contains("reaches element 6", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_files_that_are_not_zip_checkpoints()
    {
        Assert.Throws<PyTorchFormatException>(() => PyTorchCheckpoint.FromBytes([0x80, 0x02, (byte)'}', (byte)'.']));
        Assert.Throws<PyTorchFormatException>(() => PyTorchCheckpoint.FromBytes([]));
    }

    static readonly ulong[] HugeValues = [ulong.MaxValue, 1UL << 63, 1UL << 32, int.MaxValue, (ulong)int.MaxValue + 1, 0xFFFFFFFF, 0, 1, 64];

    [Fact]
    public void Mutated_archives_give_only_format_errors()
    {
        const int Cases = 6000;
        byte[][] seeds = [Sample().Build(), Sample().Build(null, zip64: true), Sample().Build(zip64: true)];
        var opened = 0;
        var refused = 0;
        for (var seed = 0; seed < Cases; seed++)
        {
            var random = new Random(seed);
            var file = Mutate(random, seeds[seed % seeds.Length]);
            var clock = Stopwatch.StartNew();
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                using var checkpoint = PyTorchCheckpoint.FromBytes(file, $"fuzz-{seed}.pt");
                long sum = 0;
                foreach (var tensor in checkpoint.Tensors)
                {
                    var copy = new byte[tensor.ByteSize];
                    tensor.CopyTo(copy);
                    foreach (var b in copy)
                    {
                        sum += b;
                    }
                }
                GC.KeepAlive(sum);
                opened++;
            }
            catch (PyTorchFormatException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}: {e.GetType().Name} escaped: {e.Message}");
            }
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < (64L * file.Length) + (1 << 20), $"seed {seed}: allocation out of proportion");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"seed {seed}: took {clock.Elapsed}");
        }
        Assert.True(opened > Cases / 50, $"only {opened} mutated archives opened");
        Assert.True(refused > Cases / 5, $"only {refused} mutated archives were refused");
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
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(random.Next(file.Length - 8)), HugeValues[random.Next(HugeValues.Length)]);
                return file;
            case 3:
                BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(random.Next(file.Length - 4)), random.Next(-2, 300));
                return file;
            case 4:
                // Mutate the pickle itself, which starts a little after the first local header.
                var at = random.Next(64, Math.Min(file.Length, 1200));
                file[at] = (byte)random.Next(256);
                return file;
            default:
                var start = random.Next(file.Length);
                var length = random.Next(1, Math.Min(64, file.Length - start) + 1);
                return [.. file[..start], .. file[(start + length)..]];
        }
    }
}
