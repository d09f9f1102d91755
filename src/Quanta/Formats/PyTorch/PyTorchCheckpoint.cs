using System.Text;
using Quanta.Formats.Gguf;

namespace Quanta.Formats.PyTorch;

/// <summary>
/// A PyTorch checkpoint in <c>torch.save</c>'s zip format (<c>*.ckpt</c>, <c>*.pt</c>, <c>*.bin</c> since PyTorch 1.6):
/// <c>&lt;archive&gt;/data.pkl</c> holding the pickled object, <c>&lt;archive&gt;/data/&lt;key&gt;</c> holding the raw
/// storages and <c>&lt;archive&gt;/byteorder</c>. The file is memory-mapped read-only; the pickle is run by a
/// restricted unpickler that builds only dicts, tuples, scalars and tensors and never runs code. The state dict is
/// the top-level dict, or its <c>model_state_dict</c> entry when there is one (gemma_pytorch's <c>*.ckpt</c>).
/// </summary>
public sealed unsafe class PyTorchCheckpoint : IDisposable
{
    readonly GgufMemory _memory;
    readonly List<PyTorchTensor> _tensors = [];
    readonly Dictionary<string, PyTorchTensor> _byName = new(StringComparer.Ordinal);
    bool _disposed;

    PyTorchCheckpoint(string path, GgufMemory memory)
    {
        Path = path;
        _memory = memory;
    }

    /// <summary>The file name, for messages.</summary>
    public string Path { get; }

    /// <summary>Keys of the top-level dict (for example <c>model_state_dict</c>), in file order.</summary>
    public IReadOnlyList<string> TopLevelKeys { get; private set; } = [];

    /// <summary>The state dict's tensors, in file order.</summary>
    public IReadOnlyList<PyTorchTensor> Tensors => _tensors;

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public PyTorchTensor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The tensor named <paramref name="name"/>; <see cref="PyTorchFormatException"/> when it is missing.</summary>
    public PyTorchTensor this[string name] => Find(name) ?? throw new PyTorchFormatException(Path, $"the state dict has no tensor '{name}'");

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    public static PyTorchCheckpoint Open(string path)
    {
        var length = FileLength.Of(path);
        if (length == 0)
        {
            throw new PyTorchFormatException(path, "the file is empty");
        }
        return Load(path, GgufMemory.Map(path));
    }

    /// <summary>Reads a checkpoint held in memory (tests, fuzzing).</summary>
    public static PyTorchCheckpoint FromBytes(byte[] bytes, string name = "checkpoint.pt") => Load(name, GgufMemory.Pin(bytes));

    static PyTorchCheckpoint Load(string path, GgufMemory memory)
    {
        var checkpoint = new PyTorchCheckpoint(path, memory);
        try
        {
            checkpoint.Parse();
            return checkpoint;
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    void Parse()
    {
        var file = new MappedBytes(_memory.Pointer, _memory.Length);
        var members = StoredZip.ReadMembers(file, Path);
        var pickle = members.FirstOrDefault(m => m.Name.EndsWith("/data.pkl", StringComparison.Ordinal) && m.Name.IndexOf('/') == m.Name.Length - "/data.pkl".Length);
        if (pickle.Name is null)
        {
            throw new PyTorchFormatException(Path, "no <archive>/data.pkl member: not a torch.save zip checkpoint");
        }
        var prefix = pickle.Name[..^"data.pkl".Length];
        var byName = members.ToDictionary(m => m.Name, StringComparer.Ordinal);
        if (byName.TryGetValue(prefix + "byteorder", out var order))
        {
            var text = Encoding.ASCII.GetString(Bytes(order.DataOffset, (int)Math.Min(order.Length, 16)));
            if (text != "little")
            {
                throw new PyTorchFormatException(Path, $"byteorder is '{text}'; only little-endian checkpoints are supported");
            }
        }
        if (pickle.Length > 1 << 30)
        {
            throw new PyTorchFormatException(Path, $"data.pkl is {pickle.Length} bytes; a state dict's pickle is far smaller");
        }
        var data = Bytes(pickle.DataOffset, (int)pickle.Length).ToArray();
        var root = RestrictedUnpickler.Load(data, Path, (key, dtype, count) =>
        {
            if (!byName.TryGetValue($"{prefix}data/{key}", out var member))
            {
                throw new PyTorchFormatException(Path, $"storage '{key}' has no member {prefix}data/{key}");
            }
            if (count > member.Length / dtype.ElementSize())
            {
                throw new PyTorchFormatException(Path, $"storage '{key}' claims {count} {dtype} elements but its member holds {member.Length} bytes");
            }
            return new PickleStorage(dtype, key, count, member);
        });
        if (root is not PickleDict top)
        {
            throw new PyTorchFormatException(Path, "data.pkl does not hold a dict (a state dict or a checkpoint dict)");
        }
        TopLevelKeys = [.. top.Entries.Select(e => e.Key).OfType<string>()];
        var stateDict = top.Get("model_state_dict") switch
        {
            PickleDict inner => inner,
            null => top,
            _ => throw new PyTorchFormatException(Path, "'model_state_dict' is not a dict"),
        };
        foreach (var (key, value) in stateDict.Entries)
        {
            if (key is string name && value is PickleTensor tensor)
            {
                var t = new PyTorchTensor(this, name, tensor);
                _tensors.Add(t);
                _byName[name] = t;
            }
        }
    }

    internal ReadOnlySpan<byte> Bytes(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new MappedBytes(_memory.Pointer, _memory.Length).Span(offset, length);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _memory.Dispose();
        }
    }
}
