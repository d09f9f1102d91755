namespace Quanta.Formats.PyTorch;

// The values the restricted unpickler builds. Python ints become long, floats double, str string,
// None null, bools bool; everything else is one of these types. Nothing here can run code.

/// <summary>A Python tuple.</summary>
internal sealed record PickleTuple(object?[] Items);

/// <summary>A Python list.</summary>
internal sealed record PickleList(List<object?> Items);

/// <summary>A Python dict or collections.OrderedDict: the entries in insertion order.</summary>
internal sealed class PickleDict
{
    readonly List<KeyValuePair<object?, object?>> _entries = [];
    readonly Dictionary<object, int> _index = [];

    public IReadOnlyList<KeyValuePair<object?, object?>> Entries => _entries;

    public void Set(object? key, object? value)
    {
        // Keys are strings and ints in practice; other values (tuples ...) compare by reference, which is enough
        // to keep every entry and harmless for lookups by name.
        var slot = key ?? NullKey;
        if (_index.TryGetValue(slot, out var i))
        {
            _entries[i] = new(key, value);
            return;
        }
        _index[slot] = _entries.Count;
        _entries.Add(new(key, value));
    }

    public object? Get(string key) => _index.TryGetValue(key, out var i) ? _entries[i].Value : null;

    static readonly object NullKey = new();
}

/// <summary>A reference to one of the few allowed globals (a storage class, OrderedDict, a tensor rebuild function).</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A storage named by a persistent id: <c>('storage', torch.XStorage, key, location, numel)</c>.</summary>
internal sealed record PickleStorage(PyTorchDType DType, string Key, long ElementCount, ZipMember Member);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> would build it.</summary>
internal sealed record PickleTensor(PickleStorage Storage, long StorageOffset, long[] Shape, long[] Strides);
