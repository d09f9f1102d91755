using System.Text;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Tests.Formats.Gguf;

public class GgufReaderTests
{
    static readonly string TinyLlama = Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", "tiny-llama-f16.gguf");

    static GgufFile Parse(GgufBytes b) => GgufFile.FromBytes(b.Build(), "test.gguf");

    static GgufFormatException Refused(byte[] file) => Assert.Throws<GgufFormatException>(() => GgufFile.FromBytes(file, "bad.gguf").Dispose());

    static GgufFormatException Refused(GgufBytes b) => Refused(b.Build());

    [Fact]
    public void Opens_the_golden_tiny_llama()
    {
        using var file = GgufFile.Open(TinyLlama);
        Assert.Equal(3, file.Version);
        Assert.Equal(32, file.Alignment);
        Assert.Equal(18, file.Metadata.Count);
        Assert.Equal(39, file.Tensors.Count);
        Assert.Equal("llama", file.Metadata.GetString("general.architecture"));
        Assert.Equal("synthetic-llama", file.Metadata.GetString("general.name"));
        Assert.Equal(4u, file.Metadata.GetUInt32("llama.block_count"));
        Assert.Equal(10000f, file.Metadata.GetFloat32("llama.rope.freq_base"));
        Assert.Equal(1e-5f, file.Metadata.GetFloat32("llama.attention.layer_norm_rms_epsilon"));
        var tokens = file.Metadata.GetArray("tokenizer.ggml.tokens").As<string>();
        Assert.Equal(512, tokens.Length);
        Assert.Equal(["<unk>", "<s>", "</s>"], tokens[..3]);
        Assert.Equal(2, file.Metadata.GetArray("tokenizer.ggml.token_type").As<int>()[0]);

        var embd = file.Tensors[0];
        Assert.Equal("token_embd.weight", embd.Name);
        Assert.Equal([256L, 512L], embd.Shape);
        Assert.Equal(GgmlType.F16, embd.Type);
        Assert.Equal(256 * 512 * 2, embd.ByteSize);
        Assert.Equal(16512, embd.FileOffset); // after the header and 39 tensor infos, padded to 32
        var norm = file.FindTensor("blk.0.attn_norm.weight")!;
        Assert.Equal(GgmlType.F32, norm.Type);
        Assert.Equal(262144, norm.Info.Offset);

        // Zero-copy access returns exactly the bytes at the tensor's place in the file.
        var raw = File.ReadAllBytes(TinyLlama);
        Assert.True(norm.Data.SequenceEqual(raw.AsSpan((int)norm.FileOffset, 1024)));
        var last = file.Tensors[^1];
        Assert.True(last.Data.SequenceEqual(raw.AsSpan((int)last.FileOffset, (int)last.ByteSize)));
    }

    [Fact]
    public void Opens_a_file_through_a_relative_symbolic_link()
    {
        // A link's own length is its target's name (here 11 bytes): the file it leads to is what counts.
        var dir = Directory.CreateTempSubdirectory("quanta-link-");
        try
        {
            File.Copy(TinyLlama, Path.Combine(dir.FullName, "model.gguf"));
            var link = Path.Combine(dir.FullName, "link.gguf");
            File.CreateSymbolicLink(link, "model.gguf");
            using var file = GgufFile.Open(link);
            Assert.Equal(39, file.Tensors.Count);
            Assert.Equal(new FileInfo(TinyLlama).Length, file.FileSize);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Reads_every_value_type_arrays_of_strings_nested_and_empty_arrays()
    {
        var b = new GgufBytes()
            .Kv("u8", 0, w => w.Write((byte)200))
            .Kv("i8", 1, w => w.Write((sbyte)-100))
            .Kv("u16", 2, w => w.Write((ushort)65000))
            .Kv("i16", 3, w => w.Write((short)-32000))
            .Kv("u32", 4, w => w.Write(4_000_000_000u))
            .Kv("i32", 5, w => w.Write(-2_000_000_000))
            .Kv("f32", 6, w => w.Write(1.5f))
            .Kv("bool", 7, w => w.Write((byte)1))
            .Kv("bool_nonzero", 7, w => w.Write((byte)7))
            .Kv("str", 8, w => GgufBytes.WriteString(w, "héllo ✓"))
            .Kv("u64", 10, w => w.Write(ulong.MaxValue))
            .Kv("i64", 11, w => w.Write(long.MinValue))
            .Kv("f64", 12, w => w.Write(-2.25))
            .Kv("strings", 9, w =>
            {
                w.Write(8);
                w.Write(3UL);
                GgufBytes.WriteString(w, "a");
                GgufBytes.WriteString(w, "");
                GgufBytes.WriteString(w, "ccc");
            })
            .Kv("floats", 9, w =>
            {
                w.Write(6);
                w.Write(2UL);
                w.Write(0.25f);
                w.Write(float.NegativeInfinity);
            })
            .Kv("empty", 9, w =>
            {
                w.Write(5);
                w.Write(0UL);
            })
            .Kv("nested", 9, w =>
            {
                w.Write(9);
                w.Write(2UL);
                w.Write(4); // [u32 1, u32 2]
                w.Write(2UL);
                w.Write(1u);
                w.Write(2u);
                w.Write(8); // ["x"]
                w.Write(1UL);
                GgufBytes.WriteString(w, "x");
            });
        using var file = Parse(b);
        var m = file.Metadata;
        Assert.Equal(17, m.Count);
        Assert.Equal(200, m.GetUInt8("u8"));
        Assert.Equal(-100, m.GetInt8("i8"));
        Assert.Equal(65000, m.GetUInt16("u16"));
        Assert.Equal(-32000, m.GetInt16("i16"));
        Assert.Equal(4_000_000_000u, m.GetUInt32("u32"));
        Assert.Equal(-2_000_000_000, m.GetInt32("i32"));
        Assert.Equal(1.5f, m.GetFloat32("f32"));
        Assert.True(m.GetBool("bool"));
        Assert.True(m.GetBool("bool_nonzero"));
        Assert.Equal("héllo ✓", m.GetString("str"));
        Assert.Equal(ulong.MaxValue, m.GetUInt64("u64"));
        Assert.Equal(long.MinValue, m.GetInt64("i64"));
        Assert.Equal(-2.25, m.GetFloat64("f64"));
        Assert.Equal(["a", "", "ccc"], m.GetArray("strings").As<string>());
        Assert.Equal([0.25f, float.NegativeInfinity], m.GetArray("floats").As<float>());
        Assert.Equal(GgufValueType.Int32, m.GetArray("empty").ElementType);
        Assert.Empty(m.GetArray("empty").As<int>());
        var nested = m.GetArray("nested").As<GgufArray>();
        Assert.Equal([1u, 2u], nested[0].As<uint>());
        Assert.Equal(["x"], nested[1].As<string>());
        Assert.Equal(["u8", "i8", "u16"], m.Keys.Take(3));
        Assert.Empty(file.Tensors);
    }

    [Fact]
    public void Typed_getter_refuses_a_value_of_another_type_as_llama_cpp_does()
    {
        using var file = Parse(new GgufBytes().I32("llama.block_count", 32));
        var e = Assert.Throws<GgufFormatException>(() => file.Metadata.GetUInt32("llama.block_count"));
        Assert.Equal("key llama.block_count has wrong type i32 but expected type u32", e.Message);
        Assert.Throws<KeyNotFoundException>(() => file.Metadata.GetUInt32("missing"));
    }

    [Fact]
    public void Zero_tensor_vocabulary_only_file_opens()
    {
        using var file = Parse(new GgufBytes().Str("general.architecture", "llama").Kv("tokenizer.ggml.tokens", 9, w =>
        {
            w.Write(8);
            w.Write(2UL);
            GgufBytes.WriteString(w, "<s>");
            GgufBytes.WriteString(w, "</s>");
        }));
        Assert.Empty(file.Tensors);
        Assert.Equal(2, file.Metadata.GetArray("tokenizer.ggml.tokens").Count);
    }

    [Fact]
    public void Version_2_is_read_and_versions_1_and_4_are_refused()
    {
        var small = GgufBytes.Small();
        small.Version = 2;
        using (var file = Parse(small))
        {
            Assert.Equal(2, file.Version);
            Assert.Equal(2, file.Tensors.Count);
        }
        small.Version = 1;
        Assert.Contains("version 1 is not supported", Refused(small).Message);
        small.Version = 4;
        Assert.Contains("unsupported GGUF version 4", Refused(small).Message);
    }

    [Fact]
    public void Big_endian_file_is_refused_with_a_message_that_says_so()
    {
        var file = GgufBytes.Small().Build();
        file[4] = 0;
        file[7] = 3; // version 3 stored big-endian
        var e = Refused(file);
        Assert.Contains("big-endian", e.Message);
        Assert.Equal(4, e.Offset);
    }

    [Fact]
    public void Tensor_bytes_are_read_in_place_at_the_aligned_offsets()
    {
        using var file = Parse(GgufBytes.Small());
        var a = file.Tensors[0];
        var b = file.Tensors[1];
        Assert.Equal(0, a.Info.Offset);
        Assert.Equal(32, b.Info.Offset);
        Assert.Equal(0, a.FileOffset % 32);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (byte)(7 + i)), a.Data.ToArray());
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (byte)(14 + i)), b.Data.ToArray());
        Assert.Equal([16, 17], b.Slice(2, 2).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Slice(31, 2).ToArray());
    }

    [Fact]
    public void General_alignment_is_honoured_and_checked()
    {
        var b = GgufBytes.Small().U32("general.alignment", 64);
        b.Alignment = 64;
        using (var file = Parse(b))
        {
            Assert.Equal(64, file.Alignment);
            Assert.Equal(64, file.Tensors[1].Info.Offset);
            Assert.Equal(0, file.Tensors[0].FileOffset % 64);
        }
        Assert.Contains("expected u32", Refused(GgufBytes.Small().I32("general.alignment", 32)).Message);
        var odd = GgufBytes.Small().U32("general.alignment", 48);
        odd.Alignment = 48;
        Assert.Contains("power of two", Refused(odd).Message);
        Assert.Contains("power of two", Refused(GgufBytes.Small().U32("general.alignment", 0)).Message);
    }

    [Fact]
    public void Bad_magic_and_too_short_files_are_refused()
    {
        var file = GgufBytes.Small().Build();
        file[0] = (byte)'X';
        Assert.Contains("not a GGUF file", Refused(file).Message);
        Assert.Contains("not a GGUF file", Refused([]).Message);
        Assert.Contains("truncated", Refused("GGUF\x03\0\0\0"u8.ToArray()).Message);
    }

    [Fact]
    public void Every_truncation_is_refused_with_a_format_error()
    {
        var file = GgufBytes.Small().Build();
        // Shorter by more than the last tensor's padding cuts into header or data.
        var lastPadding = 0;
        for (var n = 0; n < file.Length - lastPadding; n++)
        {
            Refused(file[..n]);
        }
    }

    [Fact]
    public void Last_tensor_padding_is_optional_as_in_llama_cpp()
    {
        var file = new GgufBytes().Tensor("t", [3], 0, 12).Build();
        using var f = GgufFile.FromBytes(file[..^20], "unpadded.gguf");
        Assert.Equal(12, f.Tensors[0].Data.Length);
    }

    [Fact]
    public void String_length_past_the_end_is_refused_before_allocating()
    {
        var file = new GgufBytes().Str("k", "value").Build();
        GgufBytes.PutU64(file, 24 + 8 + 1 + 4, ulong.MaxValue / 2);
        var e = Refused(file);
        Assert.Contains("string value length", e.Message);
        Assert.Equal(37, e.Offset);
    }

    [Fact]
    public void Huge_counts_are_refused_before_allocating()
    {
        var file = GgufBytes.Small().Build();
        GgufBytes.PutU64(file, 8, 1UL << 40);
        Assert.Contains("tensor count", Refused(file).Message);
        file = GgufBytes.Small().Build();
        GgufBytes.PutU64(file, 16, ulong.MaxValue);
        Assert.Contains("metadata entry count", Refused(file).Message);
        var array = new GgufBytes().Kv("a", 9, w =>
        {
            w.Write(6);
            w.Write(int.MaxValue + 5UL);
        });
        Assert.Contains("array length", Refused(array).Message);
    }

    [Fact]
    public void Unknown_value_types_are_refused()
    {
        Assert.Contains("unknown value type 13", Refused(new GgufBytes().Kv("k", 13, w => w.Write(0))).Message);
        Assert.Contains("unknown value type -1", Refused(new GgufBytes().Kv("k", 9, w =>
        {
            w.Write(-1);
            w.Write(0UL);
        })).Message);
    }

    [Fact]
    public void Deeply_nested_arrays_are_refused_without_overflowing_the_stack()
    {
        var b = new GgufBytes().Kv("deep", 9, w =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                w.Write(9);
                w.Write(1UL);
            }
            w.Write(4);
            w.Write(0UL);
        });
        Assert.Contains("nested", Refused(b).Message);
    }

    [Fact]
    public void Duplicate_keys_and_tensor_names_are_refused()
    {
        Assert.Contains("duplicate metadata key 'k'", Refused(new GgufBytes().U32("k", 1).U32("k", 2)).Message);
        Assert.Contains("duplicate tensor name 't'", Refused(new GgufBytes().Tensor("t", [8], 0, 32).Tensor("t", [8], 0, 32)).Message);
    }

    [Fact]
    public void Tensor_names_may_have_63_bytes_not_64()
    {
        using (var ok = Parse(new GgufBytes().Tensor(new string('n', 63), [8], 0, 32)))
        {
            Assert.Single(ok.Tensors);
        }
        Assert.Contains("longer than 63 bytes", Refused(new GgufBytes().Tensor(new string('n', 64), [8], 0, 32)).Message);
        // Bytes count, not characters: 32 two-byte characters are 64 bytes.
        Assert.Contains("longer than 63 bytes", Refused(new GgufBytes().Tensor(new string('é', 32), [8], 0, 32)).Message);
    }

    [Fact]
    public void Dimensions_are_checked()
    {
        Assert.Contains("5 dimensions", Refused(new GgufBytes().Tensor("t", [1, 1, 1, 1, 8], 0, 32)).Message);
        Assert.Contains("0 dimensions", Refused(new GgufBytes().Tensor("t", [], 0, 32)).Message);
        Assert.Contains("negative", Refused(new GgufBytes().Tensor("t", [-8], 0, 32)).Message);
        Assert.Contains("overflows", Refused(new GgufBytes().Tensor("t", [1L << 32, 1L << 32], 0, 32)).Message);
        using var four = Parse(new GgufBytes().Tensor("t", [2, 1, 2, 2], 0, 32));
        Assert.Equal(8, four.Tensors[0].Info.ElementCount);
    }

    [Fact]
    public void Unknown_and_removed_types_are_refused_by_name()
    {
        Assert.Contains("unknown ggml type 99", Refused(new GgufBytes().Tensor("t", [32], 99, 32)).Message);
        Assert.Contains("unknown ggml type 43", Refused(new GgufBytes().Tensor("t", [32], 43, 32)).Message);
        foreach (var removed in new[] { 4, 5, 31, 32, 33, 36, 37, 38 })
        {
            Assert.Contains("was removed from ggml", Refused(new GgufBytes().Tensor("t", [32], removed, 32)).Message);
        }
    }

    [Fact]
    public void Row_length_must_be_whole_blocks()
    {
        var e = Refused(new GgufBytes().Tensor("t", [33, 2], (int)GgmlType.Q4_0, 64));
        Assert.Contains("row length 33, not a multiple of the block size 32", e.Message);
        using var ok = Parse(new GgufBytes().Tensor("t", [64, 2], (int)GgmlType.Q4_0, 4 * 18));
        Assert.Equal(72, ok.Tensors[0].ByteSize);
    }

    [Fact]
    public void Offsets_must_be_the_aligned_running_sum()
    {
        // Overlap: the second tensor claims the first one's place.
        var overlap = Refused(new GgufBytes().Tensor("a", [8], 0, 32).Tensor("b", [8], 0, 32, offset: 0));
        Assert.Contains("tensor 'b' has offset 0, expected 32", overlap.Message);
        var gap = Refused(new GgufBytes().Tensor("a", [8], 0, 32).Tensor("b", [8], 0, 32, offset: 64));
        Assert.Contains("expected 32", gap.Message);
        var unaligned = Refused(new GgufBytes().Tensor("a", [8], 0, 32, offset: 4));
        Assert.Contains("expected 0", unaligned.Message);
    }

    [Fact]
    public void Tensor_data_outside_the_file_is_refused()
    {
        var file = new GgufBytes().Tensor("a", [8], 0, 32).Tensor("b", [1024], 0, 32).Build();
        Assert.Contains("'b'", Refused(file).Message);
    }

    [Fact]
    public void Errors_name_the_file_and_the_offset()
    {
        var path = Path.Combine(Path.GetTempPath(), $"quanta-bad-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("this is not a gguf file at all"));
        try
        {
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
            Assert.StartsWith($"{path}: at byte 0: not a GGUF file", e.Message);
            Assert.Equal(path, e.File);
        }
        finally
        {
            File.Delete(path);
        }
        var missing = Assert.Throws<GgufFormatException>(() => GgufFile.Open("/nonexistent/model.gguf"));
        Assert.Contains("cannot open", missing.Message);
    }
}
