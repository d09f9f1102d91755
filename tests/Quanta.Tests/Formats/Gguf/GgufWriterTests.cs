using System.Buffers.Binary;
using System.Text;
using Quanta.Formats;
using Quanta.Formats.Gguf;
using static Quanta.Tests.Formats.Gguf.GgufTestFiles;

namespace Quanta.Tests.Formats.Gguf;

public sealed class GgufWriterTests : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Every value type as a scalar and as an array, empty arrays, strings and nested arrays.</summary>
    static GgufMetadata AllValueTypes()
    {
        var m = new GgufMetadata();
        m.Add("general.architecture", GgufValue.String("llama"));
        m.Add("t.u8", GgufValue.UInt8(250));
        m.Add("t.i8", GgufValue.Int8(-7));
        m.Add("t.u16", GgufValue.UInt16(65000));
        m.Add("t.i16", GgufValue.Int16(-30000));
        m.Add("t.u32", GgufValue.UInt32(4_000_000_000));
        m.Add("t.i32", GgufValue.Int32(-2_000_000_000));
        m.Add("t.f32", GgufValue.Float32(1e-5f));
        m.Add("t.f32.nan", GgufValue.Float32(float.NaN));
        m.Add("t.f32.negzero", GgufValue.Float32(-0f));
        m.Add("t.bool.true", GgufValue.Bool(true));
        m.Add("t.bool.false", GgufValue.Bool(false));
        m.Add("t.str", GgufValue.String("héllo wörld ✓ 🦙"));
        m.Add("t.str.empty", GgufValue.String(""));
        m.Add("t.u64", GgufValue.UInt64(ulong.MaxValue));
        m.Add("t.i64", GgufValue.Int64(long.MinValue));
        m.Add("t.f64", GgufValue.Float64(Math.PI));
        m.Add("a.u8", GgufValue.Array(GgufArray.Of(new byte[] { 0, 1, 255 })));
        m.Add("a.i8", GgufValue.Array(GgufArray.Of(new sbyte[] { -128, 0, 127 })));
        m.Add("a.u16", GgufValue.Array(GgufArray.Of(new ushort[] { 1, 65535 })));
        m.Add("a.i16", GgufValue.Array(GgufArray.Of(new short[] { -1, 32767 })));
        m.Add("a.u32", GgufValue.Array(GgufArray.Of(new uint[] { 0, uint.MaxValue })));
        m.Add("a.i32", GgufValue.Array(GgufArray.Of(new[] { 1, 2, -3 })));
        m.Add("a.f32", GgufValue.Array(GgufArray.Of(new[] { 0.5f, -1e30f, float.Epsilon })));
        m.Add("a.bool", GgufValue.Array(GgufArray.Of(new[] { true, false, true })));
        m.Add("a.str", GgufValue.Array(GgufArray.Of(new[] { "<s>", "", "▁the", "\n", "日本" })));
        m.Add("a.u64", GgufValue.Array(GgufArray.Of(new ulong[] { 1, ulong.MaxValue })));
        m.Add("a.i64", GgufValue.Array(GgufArray.Of(new long[] { long.MinValue, 5 })));
        m.Add("a.f64", GgufValue.Array(GgufArray.Of(new[] { 1.0, double.MaxValue })));
        m.Add("a.empty.f32", GgufValue.Array(GgufArray.Of(Array.Empty<float>())));
        m.Add("a.empty.str", GgufValue.Array(GgufArray.Of(Array.Empty<string>())));
        m.Add("a.empty.arr", GgufValue.Array(GgufArray.Of(Array.Empty<GgufArray>())));
        m.Add("a.nested", GgufValue.Array(GgufArray.Of(
        [
            GgufArray.Of(new[] { 1, 2 }),
            GgufArray.Of(new[] { 3 }),
            GgufArray.Of(Array.Empty<int>()),
        ])));
        m.Add("a.nested.mixed", GgufValue.Array(GgufArray.Of(
        [
            GgufArray.Of(new[] { "a", "bc" }),
            GgufArray.Of(new[] { 1.5 }),
            GgufArray.Of([GgufArray.Of(new byte[] { 9 }), GgufArray.Of(new[] { "deep" })]),
        ])));
        return m;
    }

    static GgufTensorInfo[] SomeTensors() =>
    [
        new("token_embd.weight", [64, 10], GgmlType.F16),
        new("blk.0.attn_norm.weight", [64], GgmlType.F32),
        new("blk.0.attn_q.weight", [64, 64], GgmlType.Q8_0),
        new("blk.0.ffn_down.weight", [256, 3], GgmlType.Q4_K),
        new("trailing_one", [32, 1], GgmlType.F32),
        new("four_d", [2, 3, 1, 5], GgmlType.F32),
        new("odd_size", [3], GgmlType.I8),
    ];

    [Fact]
    public void RoundTrip_keeps_every_value_type_and_tensor_bytes()
    {
        var path = _dir.File("all.gguf");
        var metadata = AllValueTypes();
        var tensors = SomeTensors();
        Write(path, metadata, tensors);

        using var file = GgufFile.Open(path);
        Assert.Equal(3, file.Version);
        AssertSameMetadata(metadata, file.Metadata);
        Assert.Equal(tensors.Length, file.Tensors.Count);
        for (var i = 0; i < tensors.Length; i++)
        {
            var t = file.Tensors[i];
            Assert.Equal(tensors[i].Name, t.Name);
            Assert.Equal(tensors[i].Type, t.Type);
            // n_dims is written as given: [32, 1] stays two-dimensional.
            Assert.Equal(tensors[i].Shape, t.Shape);
            Assert.Equal(Bytes(tensors[i].ByteSize, i), t.Data.ToArray());
            Assert.Equal(0, t.FileOffset % 32);
        }
        Assert.Equal(0, new FileInfo(path).Length % 32);
    }

    [Fact]
    public void Header_bytes_are_exactly_the_gguf_layout()
    {
        var path = _dir.File("exact.gguf");
        var m = new GgufMetadata();
        m.Add("k", GgufValue.UInt16(0x0102));
        m.Add("n", GgufValue.Array(GgufArray.Of([GgufArray.Of(new[] { "x" }), GgufArray.Of(new[] { true })])));
        var tensor = new GgufTensorInfo("t", [2, 1], GgmlType.F32);
        using (var writer = GgufWriter.Create(path, m, [tensor]))
        {
            writer.WriteTensorData([1, 2, 3, 4, 5, 6, 7, 8]);
            writer.Commit();
        }

        var expected = new List<byte>();
        void U32(uint v) => expected.AddRange(BitConverter.GetBytes(v));
        void U64(ulong v) => expected.AddRange(BitConverter.GetBytes(v));
        void Str(string s)
        {
            U64((ulong)Encoding.UTF8.GetByteCount(s));
            expected.AddRange(Encoding.UTF8.GetBytes(s));
        }
        expected.AddRange("GGUF"u8.ToArray());
        U32(3);
        U64(1); // tensors
        U64(2); // key/values
        Str("k");
        U32(2); // u16
        expected.AddRange([0x02, 0x01]);
        Str("n");
        U32(9); // array
        U32(9); // of arrays
        U64(2);
        U32(8); // [ "x" ]: element type string, count 1
        U64(1);
        Str("x");
        U32(7); // [ true ]: element type bool, count 1
        U64(1);
        expected.Add(1);
        Str("t");
        U32(2); // n_dims, trailing 1 kept
        U64(2);
        U64(1);
        U32(0); // F32
        U64(0); // offset
        while (expected.Count % 32 != 0)
        {
            expected.Add(0);
        }
        expected.AddRange([1, 2, 3, 4, 5, 6, 7, 8]);
        expected.AddRange(new byte[24]);

        Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
    }

    [Fact]
    public void Copy_of_tiny_llama_is_byte_identical()
    {
        var output = _dir.File("copy.gguf");
        using (var source = GgufFile.Open(TinyLlama))
        {
            Assert.Equal(32, source.Alignment);
            GgufWriter.CopyFile(source, output);
        }
        // The fixture was written by ggml's writer: 32-byte alignment, every tensor padded, the last included.
        Assert.Equal(File.ReadAllBytes(TinyLlama), File.ReadAllBytes(output));
        Assert.Equal([Path.GetFileName(output)], _dir.List());
    }

    [Fact]
    public void Alignment_from_metadata_is_honoured()
    {
        var path = _dir.File("aligned.gguf");
        var m = new GgufMetadata();
        m.Add(GgufKeys.Alignment, GgufValue.UInt32(256));
        Write(path, m, SomeTensors());

        using var file = GgufFile.Open(path);
        Assert.Equal(256, file.Alignment);
        Assert.All(file.Tensors, t => Assert.Equal(0, t.FileOffset % 256));
        Assert.Equal(0, new FileInfo(path).Length % 256);
        for (var i = 0; i < file.Tensors.Count; i++)
        {
            Assert.Equal(Bytes(file.Tensors[i].ByteSize, i), file.Tensors[i].Data.ToArray());
        }
    }

    [Theory]
    [InlineData(GgufValueType.Int32, 64)]
    [InlineData(GgufValueType.UInt32, 48)]
    [InlineData(GgufValueType.UInt32, 0)]
    public void Bad_alignment_is_refused_before_anything_is_created(GgufValueType type, int alignment)
    {
        var m = new GgufMetadata();
        m.Add(GgufKeys.Alignment, type == GgufValueType.Int32 ? GgufValue.Int32(alignment) : GgufValue.UInt32((uint)alignment));
        Assert.Throws<ArgumentException>(() => GgufWriter.Create(_dir.File("x.gguf"), m, []));
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void File_with_no_tensors_is_valid()
    {
        var path = _dir.File("empty.gguf");
        var m = new GgufMetadata();
        m.Add("general.architecture", GgufValue.String("llama"));
        using (var writer = GgufWriter.Create(path, m, []))
        {
            Assert.Null(writer.CurrentTensor);
            writer.Commit();
        }
        Assert.Equal(0, new FileInfo(path).Length % 32);
        using var file = GgufFile.Open(path);
        Assert.Empty(file.Tensors);
        AssertSameMetadata(m, file.Metadata);
    }

    [Fact]
    public void File_with_nothing_at_all_is_valid()
    {
        var path = _dir.File("nothing.gguf");
        using (var writer = GgufWriter.Create(path, new GgufMetadata(), []))
        {
            writer.Commit();
        }
        // 24 header bytes padded to 32.
        Assert.Equal(32, new FileInfo(path).Length);
        using var file = GgufFile.Open(path);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Zero_byte_tensors_take_no_data_and_may_be_named()
    {
        var path = _dir.File("zero.gguf");
        GgufTensorInfo[] tensors =
        [
            new("empty.a", [0], GgmlType.F32),
            new("full", [8], GgmlType.F32),
            new("empty.b", [0, 4], GgmlType.F16),
        ];
        using (var writer = GgufWriter.Create(path, new GgufMetadata(), tensors))
        {
            writer.BeginTensor("empty.a");
            writer.BeginTensor("full");
            writer.WriteTensorData(Bytes(32, 1));
            writer.Commit();
        }
        using var file = GgufFile.Open(path);
        Assert.Equal(["empty.a", "full", "empty.b"], file.Tensors.Select(t => t.Name));
        Assert.Equal(Bytes(32, 1), file.Tensors[1].Data.ToArray());
        Assert.Equal(0, file.Tensors[2].ByteSize);
    }

    [Fact]
    public void Chunks_of_any_size_give_the_same_file()
    {
        var whole = _dir.File("whole.gguf");
        var chunked = _dir.File("chunked.gguf");
        var tensors = SomeTensors();
        Write(whole, AllValueTypes(), tensors);
        using (var writer = GgufWriter.Create(chunked, AllValueTypes(), tensors, new GgufWriterOptions { BufferSize = 7 }))
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                writer.BeginTensor(tensors[i].Name);
                var data = Bytes(tensors[i].ByteSize, i);
                for (var start = 0; start < data.Length; start += 13)
                {
                    writer.WriteTensorData(data.AsSpan(start, Math.Min(13, data.Length - start)));
                }
            }
            writer.Commit();
        }
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(chunked));
    }

    [Fact]
    public void Writer_reports_layout_and_progress()
    {
        var tensors = SomeTensors();
        using var writer = GgufWriter.Create(_dir.File("x.gguf"), AllValueTypes(), tensors);
        Assert.Equal(0, writer.DataOffset % 32);
        Assert.Equal(writer.DataOffset, writer.Position);
        Assert.Equal(0, writer.Tensors[0].Offset);
        Assert.Equal(GgufWriter.Pad(tensors[0].ByteSize, 32), writer.Tensors[1].Offset);
        Assert.Equal(tensors[0].Name, writer.CurrentTensor?.Name);
        writer.WriteTensorData(Bytes(tensors[0].ByteSize, 0));
        Assert.Equal(tensors[1].Name, writer.CurrentTensor?.Name);
        Assert.Equal(writer.DataOffset + writer.Tensors[1].Offset, writer.Position);
    }

    [Fact]
    public void Exception_mid_write_leaves_no_temp_file_and_the_target_untouched()
    {
        var path = _dir.File("model.gguf");
        File.WriteAllText(path, "the old model");
        var tensors = SomeTensors();

        var e = Assert.Throws<InvalidDataException>((Action)(() =>
        {
            using var writer = GgufWriter.Create(path, AllValueTypes(), tensors);
            writer.WriteTensorData(Bytes(tensors[0].ByteSize, 0));
            writer.WriteTensorData(Bytes(10, 1));
            Assert.Single(_dir.List(), n => n.StartsWith(".model.gguf.", StringComparison.Ordinal) && n.EndsWith(".tmp", StringComparison.Ordinal));
            throw new InvalidDataException("the quantizer failed");
        }));

        Assert.Equal("the quantizer failed", e.Message);
        Assert.Equal("the old model", File.ReadAllText(path));
        Assert.Equal(["model.gguf"], _dir.List());
    }

    [Fact]
    public void Dispose_without_commit_deletes_the_temp_file()
    {
        var path = _dir.File("model.gguf");
        var tensors = SomeTensors();
        using (var writer = GgufWriter.Create(path, AllValueTypes(), tensors))
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                writer.WriteTensorData(Bytes(tensors[i].ByteSize, i));
            }
        }
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void Cancellation_mid_write_deletes_the_temp_file_and_leaves_the_target()
    {
        var path = _dir.File("model.gguf");
        File.WriteAllText(path, "the old model");
        var tensors = SomeTensors();
        using var cts = new CancellationTokenSource();
        using var writer = GgufWriter.Create(path, AllValueTypes(), tensors, new GgufWriterOptions { CancellationToken = cts.Token });
        writer.WriteTensorData(Bytes(tensors[0].ByteSize, 0));
        cts.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => writer.WriteTensorData(Bytes(tensors[1].ByteSize, 1)));
        Assert.Equal(["model.gguf"], _dir.List());
        Assert.Equal("the old model", File.ReadAllText(path));
        // The writer stays closed.
        Assert.Throws<InvalidOperationException>(() => writer.Commit());
    }

    [Fact]
    public void Cancellation_before_commit_leaves_the_target()
    {
        var path = _dir.File("model.gguf");
        File.WriteAllText(path, "the old model");
        var tensors = SomeTensors();
        using var cts = new CancellationTokenSource();
        using (var writer = GgufWriter.Create(path, AllValueTypes(), tensors, new GgufWriterOptions { CancellationToken = cts.Token }))
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                writer.WriteTensorData(Bytes(tensors[i].ByteSize, i));
            }
            cts.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(writer.Commit);
        }
        Assert.Equal(["model.gguf"], _dir.List());
        Assert.Equal("the old model", File.ReadAllText(path));
    }

    [Fact]
    public void Cancelled_before_create_creates_nothing()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            GgufWriter.Create(_dir.File("x.gguf"), new GgufMetadata(), [], new GgufWriterOptions { CancellationToken = cts.Token }));
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void Too_many_bytes_for_a_tensor_throw_and_delete_the_temp_file()
    {
        var tensors = SomeTensors();
        using var writer = GgufWriter.Create(_dir.File("x.gguf"), new GgufMetadata(), tensors);
        writer.WriteTensorData(Bytes(100, 0));
        var e = Assert.Throws<InvalidOperationException>(() => writer.WriteTensorData(Bytes(tensors[0].ByteSize, 0)));
        Assert.Contains("token_embd.weight", e.Message, StringComparison.Ordinal);
        Assert.Empty(_dir.List());
        Assert.Throws<InvalidOperationException>(() => writer.WriteTensorData([1]));
    }

    [Fact]
    public void Too_few_bytes_for_a_tensor_fail_the_commit()
    {
        var path = _dir.File("model.gguf");
        File.WriteAllText(path, "the old model");
        var tensors = SomeTensors();
        using (var writer = GgufWriter.Create(path, new GgufMetadata(), tensors))
        {
            writer.WriteTensorData(Bytes(tensors[0].ByteSize, 0));
            writer.WriteTensorData(Bytes(tensors[1].ByteSize - 1, 1));
            var e = Assert.Throws<InvalidOperationException>(writer.Commit);
            Assert.Contains("blk.0.attn_norm.weight", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal(["model.gguf"], _dir.List());
        Assert.Equal("the old model", File.ReadAllText(path));
    }

    [Fact]
    public void Beginning_the_next_tensor_early_throws()
    {
        var tensors = SomeTensors();
        using var writer = GgufWriter.Create(_dir.File("x.gguf"), new GgufMetadata(), tensors);
        writer.BeginTensor(tensors[0].Name);
        writer.WriteTensorData(Bytes(tensors[0].ByteSize - 2, 0));
        var e = Assert.Throws<InvalidOperationException>(() => writer.BeginTensor(tensors[1].Name));
        Assert.Contains("token_embd.weight", e.Message, StringComparison.Ordinal);
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void Bytes_after_the_last_tensor_throw()
    {
        GgufTensorInfo[] tensors = [new("a", [4], GgmlType.F32)];
        using var writer = GgufWriter.Create(_dir.File("x.gguf"), new GgufMetadata(), tensors);
        writer.WriteTensorData(new byte[16]);
        Assert.Throws<InvalidOperationException>(() => writer.WriteTensorData(new byte[1]));
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void Writing_over_the_source_is_refused()
    {
        var input = _dir.File("model.gguf");
        File.Copy(TinyLlama, input);
        var before = File.ReadAllBytes(input);
        using var source = GgufFile.Open(input);

        var e = Assert.Throws<ArgumentException>(() => GgufWriter.CopyFile(source, input));
        Assert.Contains("refusing to write", e.Message, StringComparison.Ordinal);
        // Through another spelling of the same path.
        Assert.Throws<ArgumentException>(() => GgufWriter.CopyFile(source, Path.Combine(_dir.Path, ".", "sub", "..", "model.gguf")));
        Assert.Equal(["model.gguf"], _dir.List());
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [Fact]
    public void Protecting_a_source_adds_its_files_and_keeps_every_other_setting()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var cts = new CancellationTokenSource();
        var options = new GgufWriterOptions
        {
            ProtectedInputs = ["imatrix.dat"],
            CancellationToken = cts.Token,
            BufferSize = 7,
            FlushToDisk = false,
            ContentHash = hash,
        };
        using var source = GgufFile.Open(TinyLlama);

        var protecting = GgufWriter.ProtectingSource(source, options);

        Assert.Equal(["imatrix.dat", .. source.FilePaths], protecting.ProtectedInputs);
        // Record equality over every other member: a setting added later cannot be dropped on the way.
        Assert.Equal(options with { ProtectedInputs = protecting.ProtectedInputs }, protecting);
    }

    [Fact]
    public void Writing_over_a_protected_input_through_a_link_is_refused()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Creating links needs privileges there.
        }
        var input = _dir.File("model.gguf");
        File.WriteAllText(input, "precious");
        var link = _dir.File("link.gguf");
        File.CreateSymbolicLink(link, "model.gguf");
        var linkedDir = _dir.File("linked-dir");
        Directory.CreateSymbolicLink(linkedDir, _dir.Path);
        var options = new GgufWriterOptions { ProtectedInputs = [input] };

        Assert.Throws<ArgumentException>(() => GgufWriter.Create(link, new GgufMetadata(), [], options));
        Assert.Throws<ArgumentException>(() => GgufWriter.Create(Path.Combine(linkedDir, "model.gguf"), new GgufMetadata(), [], options));
        // And the other way round: the protected path is the link.
        Assert.Throws<ArgumentException>(() => GgufWriter.Create(input, new GgufMetadata(), [], new GgufWriterOptions { ProtectedInputs = [link] }));
        Assert.Equal(["link.gguf", "linked-dir", "model.gguf"], _dir.List());
        Assert.Equal("precious", File.ReadAllText(input));
        Directory.Delete(linkedDir); // the link only, before the directory it points into goes

        // Another file in the same place is fine.
        using (var writer = GgufWriter.Create(_dir.File("other.gguf"), new GgufMetadata(), [], options))
        {
            writer.Commit();
        }
        Assert.True(File.Exists(_dir.File("other.gguf")));
    }

    [Fact]
    public void Commit_replaces_an_existing_file()
    {
        var path = _dir.File("model.gguf");
        File.WriteAllText(path, "old");
        Write(path, AllValueTypes(), SomeTensors());
        using var file = GgufFile.Open(path);
        AssertSameMetadata(AllValueTypes(), file.Metadata);
        Assert.Equal(["model.gguf"], _dir.List());
    }

    [Fact]
    public void Commit_keeps_the_replaced_files_permissions()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var path = _dir.File("model.gguf");
        File.WriteAllText(path, "old");
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(path, mode);
        Write(path, new GgufMetadata(), []);
        Assert.Equal(mode, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Bad_tensor_lists_are_refused_before_anything_is_created()
    {
        GgufTensorInfo[] duplicate = [new("a", [4], GgmlType.F32), new("a", [4], GgmlType.F32)];
        Assert.Throws<ArgumentException>(() => GgufWriter.Create(_dir.File("x.gguf"), new GgufMetadata(), duplicate));
        GgufTensorInfo[] longName = [new(new string('n', 64), [4], GgmlType.F32)];
        Assert.Throws<ArgumentException>(() => GgufWriter.Create(_dir.File("x.gguf"), new GgufMetadata(), longName));
        var badString = new GgufMetadata();
        badString.Add("s", GgufValue.String("\ud800"));
        Assert.Throws<ArgumentException>(() => GgufWriter.Create(_dir.File("x.gguf"), badString, []));
        Assert.Throws<ArgumentException>(() => GgufWriter.Create(_dir.Path, new GgufMetadata(), []));
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void Offsets_given_by_the_caller_are_replaced_by_the_layout()
    {
        var path = _dir.File("x.gguf");
        GgufTensorInfo[] tensors = [new("a", [3], GgmlType.F32, offset: 999), new("b", [5], GgmlType.F32, offset: 5)];
        Write(path, new GgufMetadata(), tensors);
        using var file = GgufFile.Open(path);
        Assert.Equal([0L, 32L], file.Tensors.Select(t => t.Info.Offset));
    }

    [Fact]
    public void WriteTensor_streams_a_source_tensor_and_checks_its_size()
    {
        using var source = GgufFile.Open(TinyLlama);
        var first = source.Tensors[0];
        var other = source.Tensors.First(t => t.ByteSize != first.ByteSize);
        using var writer = GgufWriter.Create(_dir.File("x.gguf"), new GgufMetadata(), [first.Info]);
        Assert.Throws<InvalidOperationException>(() => writer.WriteTensor(other));
        Assert.Empty(_dir.List());
    }

    [Fact]
    public void Header_little_endian_counts_match_the_reader()
    {
        var path = _dir.File("x.gguf");
        Write(path, AllValueTypes(), SomeTensors());
        var bytes = File.ReadAllBytes(path);
        Assert.Equal((ulong)SomeTensors().Length, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8)));
        Assert.Equal((ulong)AllValueTypes().Count, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16)));
    }
}
