using System.Buffers.Binary;
using System.Text;
using Quanta.Formats.PyTorch;

namespace Quanta.Tests.Formats.PyTorch;

/// <summary>
/// Writes small checkpoints the way <c>torch.save</c> does: a stored (uncompressed) zip whose members are
/// <c>archive/data.pkl</c> (pickle protocol 2), <c>archive/byteorder</c> and one <c>archive/data/&lt;key&gt;</c> per
/// storage, data aligned to 64 bytes through padding extra fields; optionally zip64 records as for large files.
/// </summary>
internal sealed class TorchZipBuilder
{
    readonly List<(string Name, PyTorchDType DType, long[] Shape, long[] Strides, long Offset, string Key)> _tensors = [];
    readonly Dictionary<string, (PyTorchDType DType, byte[] Bytes)> _storages = [];

    /// <summary>Adds a contiguous tensor with its own storage.</summary>
    public TorchZipBuilder Add(string name, PyTorchDType dtype, long[] shape, byte[] bytes)
    {
        var key = _storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _storages[key] = (dtype, bytes);
        var strides = new long[shape.Length];
        long s = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }
        _tensors.Add((name, dtype, shape, strides, 0, key));
        return this;
    }

    /// <summary>Adds a view on the storage of an earlier tensor.</summary>
    public TorchZipBuilder AddView(string name, string of, long[] shape, long[] strides, long offset)
    {
        var source = _tensors.Single(t => t.Name == of);
        _tensors.Add((name, source.DType, shape, strides, offset, source.Key));
        return this;
    }

    public byte[] Build(string? wrapKey = "model_state_dict", bool zip64 = false, Action<PickleWriter>? extra = null)
    {
        var pickle = Pickle(wrapKey, extra);
        var members = new List<(string, byte[])>
        {
            ("archive/data.pkl", pickle),
            ("archive/byteorder", Encoding.ASCII.GetBytes("little")),
        };
        foreach (var (key, (_, bytes)) in _storages)
        {
            members.Add(($"archive/data/{key}", bytes));
        }
        members.Add(("archive/version", Encoding.ASCII.GetBytes("3\n")));
        return Zip(members, zip64);
    }

    byte[] Pickle(string? wrapKey, Action<PickleWriter>? extra)
    {
        var p = new PickleWriter();
        p.Proto();
        if (wrapKey is not null)
        {
            p.EmptyDict().Put();
            p.Unicode(wrapKey).Put();
        }
        p.Global("collections", "OrderedDict").Put();
        var orderedDictMemo = p.LastMemo;
        p.EmptyTuple().Reduce().Put();
        p.Mark();
        foreach (var t in _tensors)
        {
            p.Unicode(t.Name).Put();
            p.Global("torch._utils", "_rebuild_tensor_v2").Put();
            p.Mark();
            p.Mark().Unicode("storage").Global("torch", t.DType.StorageClass()).Unicode(t.Key).Unicode("cpu")
                .Int(_storages[t.Key].Bytes.Length / t.DType.ElementSize()).Tuple().BinPersId();
            p.Int(t.Offset).IntTuple(t.Shape).IntTuple(t.Strides).False();
            p.Get(orderedDictMemo).EmptyTuple().Reduce();
            p.Tuple().Reduce().Put();
        }
        extra?.Invoke(p);
        p.SetItems();
        // OrderedDict state: {'_metadata': OrderedDict([('', {'version': 1})])}, applied with BUILD.
        p.EmptyDict().Unicode("_metadata").Get(orderedDictMemo).EmptyTuple().Reduce().Put();
        p.Mark().Unicode("").EmptyDict().Unicode("version").Int(1).SetItem().SetItems();
        p.SetItem().Build();
        if (wrapKey is not null)
        {
            p.SetItem();
        }
        p.Stop();
        return p.ToArray();
    }

    static byte[] Zip(List<(string Name, byte[] Data)> members, bool zip64)
    {
        var output = new MemoryStream();
        var central = new MemoryStream();
        foreach (var (name, data) in members)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var offset = output.Position;
            // Pad through an extra field so the data starts on a 64-byte boundary, as PyTorch's writer does.
            var headerEnd = offset + 30 + nameBytes.Length + 4;
            var padding = (int)((64 - (headerEnd % 64)) % 64);
            var local = new byte[30];
            BinaryPrimitives.WriteUInt32LittleEndian(local, 0x04034B50);
            BinaryPrimitives.WriteUInt16LittleEndian(local.AsSpan(4), zip64 ? (ushort)45 : (ushort)20);
            BinaryPrimitives.WriteUInt32LittleEndian(local.AsSpan(18), (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(local.AsSpan(22), (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(local.AsSpan(26), (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(local.AsSpan(28), (ushort)(4 + padding));
            output.Write(local);
            output.Write(nameBytes);
            var pad = new byte[4 + padding];
            BinaryPrimitives.WriteUInt16LittleEndian(pad, 0x4246); // "FB", PyTorch's padding id
            BinaryPrimitives.WriteUInt16LittleEndian(pad.AsSpan(2), (ushort)padding);
            output.Write(pad);
            output.Write(data);

            var extra = zip64 ? new byte[4 + 24] : [];
            if (zip64)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(extra, 1);
                BinaryPrimitives.WriteUInt16LittleEndian(extra.AsSpan(2), 24);
                BinaryPrimitives.WriteUInt64LittleEndian(extra.AsSpan(4), (ulong)data.Length);
                BinaryPrimitives.WriteUInt64LittleEndian(extra.AsSpan(12), (ulong)data.Length);
                BinaryPrimitives.WriteUInt64LittleEndian(extra.AsSpan(20), (ulong)offset);
            }
            var header = new byte[46];
            BinaryPrimitives.WriteUInt32LittleEndian(header, 0x02014B50);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 45);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), zip64 ? (ushort)45 : (ushort)20);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), zip64 ? 0xFFFFFFFF : (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), zip64 ? 0xFFFFFFFF : (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(28), (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(30), (ushort)extra.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(42), zip64 ? 0xFFFFFFFF : (uint)offset);
            central.Write(header);
            central.Write(nameBytes);
            central.Write(extra);
        }
        var directoryOffset = output.Position;
        central.Position = 0;
        central.CopyTo(output);
        if (zip64)
        {
            var recordOffset = output.Position;
            var record = new byte[56];
            BinaryPrimitives.WriteUInt32LittleEndian(record, 0x06064B50);
            BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(4), 44);
            BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(12), 45);
            BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(14), 45);
            BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(24), (ulong)members.Count);
            BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(32), (ulong)members.Count);
            BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(40), (ulong)central.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(48), (ulong)directoryOffset);
            output.Write(record);
            var locator = new byte[20];
            BinaryPrimitives.WriteUInt32LittleEndian(locator, 0x07064B50);
            BinaryPrimitives.WriteUInt64LittleEndian(locator.AsSpan(8), (ulong)recordOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(locator.AsSpan(16), 1);
            output.Write(locator);
        }
        var end = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054B50);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), zip64 ? (ushort)0xFFFF : (ushort)members.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), zip64 ? (ushort)0xFFFF : (ushort)members.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), zip64 ? 0xFFFFFFFF : (uint)central.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), zip64 ? 0xFFFFFFFF : (uint)directoryOffset);
        output.Write(end);
        return output.ToArray();
    }
}

/// <summary>Emits pickle protocol 2 opcodes, memoizing like CPython's pickler where the builder asks it to.</summary>
internal sealed class PickleWriter
{
    readonly MemoryStream _out = new();
    int _memo;

    public int LastMemo => _memo - 1;

    public PickleWriter Op(byte op)
    {
        _out.WriteByte(op);
        return this;
    }

    public PickleWriter Raw(ReadOnlySpan<byte> bytes)
    {
        _out.Write(bytes);
        return this;
    }

    public PickleWriter Proto() => Op(0x80).Op(2);

    public PickleWriter Stop() => Op((byte)'.');

    public PickleWriter Mark() => Op((byte)'(');

    public PickleWriter EmptyDict() => Op((byte)'}');

    public PickleWriter EmptyTuple() => Op((byte)')');

    public PickleWriter Tuple() => Op((byte)'t');

    public PickleWriter Reduce() => Op((byte)'R');

    public PickleWriter Build() => Op((byte)'b');

    public PickleWriter SetItem() => Op((byte)'s');

    public PickleWriter SetItems() => Op((byte)'u');

    public PickleWriter BinPersId() => Op((byte)'Q');

    public PickleWriter False() => Op(0x89);

    public PickleWriter Put()
    {
        if (_memo < 256)
        {
            Op((byte)'q').Op((byte)_memo);
        }
        else
        {
            Op((byte)'r');
            Span<byte> index = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(index, _memo);
            Raw(index);
        }
        _memo++;
        return this;
    }

    public PickleWriter Get(int index) => index < 256 ? Op((byte)'h').Op((byte)index) : throw new NotSupportedException();

    public PickleWriter Global(string module, string name) => Op((byte)'c').Raw(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    public PickleWriter Unicode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
        return Op((byte)'X').Raw(length).Raw(bytes);
    }

    public PickleWriter Int(long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        if (value is >= 0 and < 256)
        {
            return Op((byte)'K').Op((byte)value);
        }
        if (value is >= 0 and < 65536)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)value);
            return Op((byte)'M').Raw(bytes[..2]);
        }
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes, (int)value);
            return Op((byte)'J').Raw(bytes[..4]);
        }
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return Op(0x8A).Op(8).Raw(bytes);
    }

    /// <summary>A tuple of ints with TUPLE1..3 for short ones, MARK ... TUPLE otherwise, as CPython does.</summary>
    public PickleWriter IntTuple(long[] values)
    {
        if (values.Length == 0)
        {
            return EmptyTuple();
        }
        if (values.Length > 3)
        {
            Mark();
        }
        foreach (var v in values)
        {
            Int(v);
        }
        return values.Length switch
        {
            1 => Op(0x85),
            2 => Op(0x86),
            3 => Op(0x87),
            _ => Tuple(),
        };
    }

    public byte[] ToArray() => _out.ToArray();
}
