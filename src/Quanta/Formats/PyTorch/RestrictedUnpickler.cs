using System.Buffers.Binary;
using System.Text;

namespace Quanta.Formats.PyTorch;

/// <summary>
/// A pickle virtual machine for the subset <c>torch.save</c> writes for state dicts (protocol 2, and the few
/// protocol 4 opcodes a caller choosing a higher protocol adds). It never imports or calls anything: globals
/// are checked against a fixed list (OrderedDict, the tensor rebuild functions, the storage classes) and
/// REDUCE is interpreted for those alone. Anything else is refused with the opcode or global and its position.
/// Every object is bounded by the stream's length, so a forged count or length cannot allocate much.
/// </summary>
internal sealed class RestrictedUnpickler
{
    readonly byte[] _data;
    readonly string _file;
    readonly Func<string, PyTorchDType, long, PickleStorage> _resolveStorage;
    readonly List<object?> _stack = [];
    readonly List<int> _marks = [];
    readonly Dictionary<long, object?> _memo = [];
    int _at;

    RestrictedUnpickler(byte[] data, string file, Func<string, PyTorchDType, long, PickleStorage> resolveStorage)
    {
        _data = data;
        _file = file;
        _resolveStorage = resolveStorage;
    }

    /// <summary>Runs the pickle in <paramref name="data"/> to its STOP and returns the result.</summary>
    /// <param name="resolveStorage">Maps a storage key, dtype and element count to its bytes in the archive.</param>
    public static object? Load(byte[] data, string file, Func<string, PyTorchDType, long, PickleStorage> resolveStorage) =>
        new RestrictedUnpickler(data, file, resolveStorage).Run();

    object? Run()
    {
        while (true)
        {
            if (_at >= _data.Length)
            {
                throw Fail(_at, "pickle ends without STOP");
            }
            var position = _at;
            var op = _data[_at++];
            switch (op)
            {
                case 0x80: // PROTO
                    var protocol = ReadByte();
                    if (protocol is < 2 or > 5)
                    {
                        throw Fail(position, $"pickle protocol {protocol} is not supported (torch.save writes 2)");
                    }
                    break;
                case 0x95: // FRAME
                    ReadBytes(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0)
                    {
                        throw Fail(position, $"STOP with {_stack.Count} values on the stack");
                    }
                    return _stack[0];
                case (byte)'(': // MARK
                    _marks.Add(_stack.Count);
                    break;
                case (byte)'N':
                    _stack.Add(null);
                    break;
                case 0x88: // NEWTRUE
                    _stack.Add(true);
                    break;
                case 0x89: // NEWFALSE
                    _stack.Add(false);
                    break;
                case (byte)'K': // BININT1
                    _stack.Add((long)ReadByte());
                    break;
                case (byte)'M': // BININT2
                    _stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2)));
                    break;
                case (byte)'J': // BININT
                    _stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)));
                    break;
                case 0x8A: // LONG1
                    _stack.Add(ReadLong1(position));
                    break;
                case (byte)'G': // BINFLOAT
                    _stack.Add(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8)));
                    break;
                case (byte)'X': // BINUNICODE
                    _stack.Add(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), position));
                    break;
                case 0x8C: // SHORT_BINUNICODE
                    _stack.Add(ReadString(ReadByte(), position));
                    break;
                case (byte)'}': // EMPTY_DICT
                    _stack.Add(new PickleDict());
                    break;
                case (byte)']': // EMPTY_LIST
                    _stack.Add(new PickleList([]));
                    break;
                case (byte)')': // EMPTY_TUPLE
                    _stack.Add(new PickleTuple([]));
                    break;
                case (byte)'t': // TUPLE
                    _stack.Add(new PickleTuple([.. PopMark(position)]));
                    break;
                case 0x85: // TUPLE1
                case 0x86: // TUPLE2
                case 0x87: // TUPLE3
                    _stack.Add(new PickleTuple([.. PopItems(op - 0x84, position)]));
                    break;
                case (byte)'s': // SETITEM
                    var pair = PopItems(2, position);
                    PeekDict(position).Set(pair[0], pair[1]);
                    break;
                case (byte)'u': // SETITEMS
                    var items = PopMark(position);
                    if (items.Count % 2 != 0)
                    {
                        throw Fail(position, "SETITEMS with an odd number of values");
                    }
                    var dict = PeekDict(position);
                    for (var i = 0; i < items.Count; i += 2)
                    {
                        dict.Set(items[i], items[i + 1]);
                    }
                    break;
                case (byte)'a': // APPEND
                    var appended = PopItems(1, position)[0];
                    PeekList(position).Items.Add(appended);
                    break;
                case (byte)'e': // APPENDS
                    var many = PopMark(position);
                    PeekList(position).Items.AddRange(many);
                    break;
                case (byte)'q': // BINPUT
                    Memoize(ReadByte(), position);
                    break;
                case (byte)'r': // LONG_BINPUT
                    Memoize(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), position);
                    break;
                case 0x94: // MEMOIZE
                    Memoize(_memo.Count, position);
                    break;
                case (byte)'h': // BINGET
                    _stack.Add(Recall(ReadByte(), position));
                    break;
                case (byte)'j': // LONG_BINGET
                    _stack.Add(Recall(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), position));
                    break;
                case (byte)'c': // GLOBAL
                    var module = ReadLine(position);
                    var name = ReadLine(position);
                    _stack.Add(CheckGlobal(module, name, position));
                    break;
                case 0x93: // STACK_GLOBAL
                    var names = PopItems(2, position);
                    if (names[0] is not string m || names[1] is not string n)
                    {
                        throw Fail(position, "STACK_GLOBAL needs two strings");
                    }
                    _stack.Add(CheckGlobal(m, n, position));
                    break;
                case (byte)'Q': // BINPERSID
                    _stack.Add(PersistentLoad(PopItems(1, position)[0], position));
                    break;
                case (byte)'R': // REDUCE
                    var call = PopItems(2, position);
                    _stack.Add(Reduce(call[0], call[1], position));
                    break;
                case (byte)'b': // BUILD
                    var state = PopItems(1, position)[0];
                    // OrderedDict state dicts carry their `_metadata` (versions per module) as instance state;
                    // Quanta needs none of it. State on anything else would mean a real object: refuse.
                    if (Peek(position) is not PickleDict || state is not PickleDict)
                    {
                        throw Fail(position, "BUILD is only accepted for OrderedDict metadata");
                    }
                    break;
                default:
                    throw Fail(position, $"pickle opcode 0x{op:X2} ('{(op is >= 0x20 and < 0x7F ? (char)op : '?')}') is not one torch.save uses for tensors; refusing to go on");
            }
        }
    }

    object CheckGlobal(string module, string name, int position)
    {
        switch (module, name)
        {
            case ("collections", "OrderedDict"):
            case ("torch._utils", "_rebuild_tensor_v2"):
            case ("torch._utils", "_rebuild_parameter"):
                return new PickleGlobal(module, name);
        }
        if (module == "torch" && PyTorchDTypes.TryFromStorageClass(name, out _))
        {
            return new PickleGlobal(module, name);
        }
        throw Fail(position, $"global '{module}.{name}' is not allowed; only OrderedDict, tensor rebuilds and storage classes are (no code is ever run)");
    }

    object? Reduce(object? callable, object? args, int position)
    {
        if (callable is not PickleGlobal global || args is not PickleTuple tuple)
        {
            throw Fail(position, "REDUCE needs an allowed global and an argument tuple");
        }
        var a = tuple.Items;
        switch (global.Name)
        {
            case "OrderedDict":
                var dict = new PickleDict();
                if (a.Length == 1 && a[0] is PickleList pairs)
                {
                    foreach (var item in pairs.Items)
                    {
                        if (item is not PickleTuple { Items.Length: 2 } kv)
                        {
                            throw Fail(position, "OrderedDict needs (key, value) pairs");
                        }
                        dict.Set(kv.Items[0], kv.Items[1]);
                    }
                }
                else if (a.Length != 0)
                {
                    throw Fail(position, "OrderedDict called with unexpected arguments");
                }
                return dict;
            case "_rebuild_tensor_v2":
                return RebuildTensor(a, position);
            case "_rebuild_parameter":
                if (a.Length is < 2 or > 3 || a[0] is not PickleTensor parameter)
                {
                    throw Fail(position, "_rebuild_parameter needs (tensor, requires_grad, hooks)");
                }
                return parameter;
            default:
                throw Fail(position, $"{global} cannot be called");
        }
    }

    PickleTensor RebuildTensor(object?[] a, int position)
    {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (a.Length is < 6 or > 7 || a[0] is not PickleStorage storage || a[1] is not long offset
            || a[2] is not PickleTuple size || a[3] is not PickleTuple stride || a[4] is not bool)
        {
            throw Fail(position, "_rebuild_tensor_v2 needs (storage, offset, size, stride, requires_grad, hooks)");
        }
        if (size.Items.Length != stride.Items.Length || size.Items.Length > 16)
        {
            throw Fail(position, $"tensor has {size.Items.Length} sizes and {stride.Items.Length} strides");
        }
        var shape = new long[size.Items.Length];
        var strides = new long[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            if (size.Items[i] is not long s || s < 0 || stride.Items[i] is not long st || st < 0)
            {
                throw Fail(position, "tensor sizes and strides must be non-negative integers");
            }
            shape[i] = s;
            strides[i] = st;
        }
        if (offset < 0)
        {
            throw Fail(position, "negative storage offset");
        }
        long elements = 1;
        foreach (var d in shape)
        {
            elements = d == 0 || elements <= long.MaxValue / 16 / d ? elements * d : throw Fail(position, "tensor element count overflows");
        }
        // The furthest element the view touches must lie inside the storage.
        if (!shape.Contains(0))
        {
            var last = offset;
            try
            {
                for (var i = 0; i < shape.Length; i++)
                {
                    last = checked(last + ((shape[i] - 1) * strides[i]));
                }
            }
            catch (OverflowException)
            {
                throw Fail(position, "tensor extent overflows");
            }
            if (last >= storage.ElementCount)
            {
                throw Fail(position, $"tensor reaches element {last} of a {storage.ElementCount}-element storage '{storage.Key}'");
            }
        }
        return new PickleTensor(storage, offset, shape, strides);
    }

    PickleStorage PersistentLoad(object? pid, int position)
    {
        if (pid is not PickleTuple { Items: ["storage", PickleGlobal type, string key, string, long count] })
        {
            throw Fail(position, "persistent id is not ('storage', type, key, location, numel)");
        }
        if (type.Module != "torch" || !PyTorchDTypes.TryFromStorageClass(type.Name, out var dtype))
        {
            throw Fail(position, $"persistent id names {type}, not a storage class");
        }
        if (count < 0)
        {
            throw Fail(position, "negative storage size");
        }
        return _resolveStorage(key, dtype, count);
    }

    void Memoize(long index, int position)
    {
        _memo[index] = Peek(position);
    }

    object? Recall(long index, int position) =>
        _memo.TryGetValue(index, out var value) ? value : throw Fail(position, $"memo entry {index} was never stored");

    object? Peek(int position) => _stack.Count > (_marks.Count > 0 ? _marks[^1] : 0)
        ? _stack[^1]
        : throw Fail(position, "stack is empty");

    PickleDict PeekDict(int position) => Peek(position) as PickleDict ?? throw Fail(position, "expected a dict on the stack");

    PickleList PeekList(int position) => Peek(position) as PickleList ?? throw Fail(position, "expected a list on the stack");

    List<object?> PopItems(int count, int position)
    {
        var floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count - floor < count)
        {
            throw Fail(position, $"needs {count} values on the stack");
        }
        var items = _stack.GetRange(_stack.Count - count, count);
        _stack.RemoveRange(_stack.Count - count, count);
        return items;
    }

    List<object?> PopMark(int position)
    {
        if (_marks.Count == 0)
        {
            throw Fail(position, "no MARK to pop to");
        }
        var mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    long ReadLong1(int position)
    {
        var length = ReadByte();
        if (length > 8)
        {
            throw Fail(position, $"a {length}-byte integer is larger than any size or offset");
        }
        var bytes = ReadBytes(length);
        long value = 0;
        for (var i = length - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }
        if (length is > 0 and < 8 && (bytes[length - 1] & 0x80) != 0)
        {
            value -= 1L << (8 * length);
        }
        return value;
    }

    string ReadString(long length, int position)
    {
        if (length > _data.Length - _at)
        {
            throw Fail(position, $"string of {length} bytes runs past the end of data.pkl");
        }
        try
        {
            return new UTF8Encoding(false, true).GetString(ReadBytes((int)length));
        }
        catch (DecoderFallbackException e)
        {
            throw new PyTorchFormatException(_file, $"data.pkl at byte {position}: string is not UTF-8", e);
        }
    }

    string ReadLine(int position)
    {
        var end = Array.IndexOf(_data, (byte)'\n', _at, Math.Min(_data.Length - _at, 256));
        if (end < 0)
        {
            throw Fail(position, "GLOBAL name is not terminated by a newline");
        }
        var line = Encoding.ASCII.GetString(_data, _at, end - _at);
        _at = end + 1;
        return line;
    }

    byte ReadByte() => _at < _data.Length ? _data[_at++] : throw Fail(_at, "data.pkl ends inside an opcode");

    ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count > _data.Length - _at)
        {
            throw Fail(_at, "data.pkl ends inside an opcode");
        }
        var span = _data.AsSpan(_at, count);
        _at += count;
        return span;
    }

    PyTorchFormatException Fail(int position, string message) => new(_file, $"data.pkl at byte {position}: {message}");
}
