using System.Security.Cryptography;

namespace Quanta.Formats.Gguf;

/// <summary>What a difference between two GGUF models is about.</summary>
public enum GgufChange
{
    Added,
    Removed,
    Changed,
}

/// <summary>One difference: a metadata key or a tensor added, removed or changed, with a readable detail.</summary>
public sealed record GgufDifference(GgufChange Change, bool IsTensor, string Name, string Detail)
{
    /// <summary><c>+ key NAME</c>, <c>- tensor NAME</c>, <c>~ key NAME: ...</c>, as <c>gguf diff</c> prints it.</summary>
    public override string ToString()
    {
        var sign = Change switch { GgufChange.Added => '+', GgufChange.Removed => '-', _ => '~' };
        return $"{sign} {(IsTensor ? "tensor" : "key")} {Name}{(Detail.Length > 0 ? ": " + Detail : "")}";
    }
}

/// <summary>
/// Compares two GGUF models (single files or split sets): metadata keys by name, type and value, tensors by
/// name, type, shape and the SHA-256 of their bytes. The split keys are ignored, so a split set and its
/// merged file compare equal; the order of keys and of tensors is reported when it alone differs.
/// </summary>
public static class GgufDiff
{
    const int HashChunkBytes = 4 << 20;

    public static IReadOnlyList<GgufDifference> Compare(GgufFile a, GgufFile b, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var differences = new List<GgufDifference>();
        CompareMetadata(Without(a.Metadata), Without(b.Metadata), differences);
        CompareTensors(a, b, differences, cancellationToken);
        return differences;
    }

    static GgufMetadata Without(GgufMetadata metadata)
    {
        var copy = new GgufMetadata(metadata);
        GgufSplit.RemoveSplitKeys(copy);
        return copy;
    }

    static void CompareMetadata(GgufMetadata a, GgufMetadata b, List<GgufDifference> differences)
    {
        foreach (var (key, value) in a)
        {
            if (!b.TryGetValue(key, out var other))
            {
                differences.Add(new(GgufChange.Removed, false, key, Describe(value)));
            }
            else if (!value.Equals(other))
            {
                differences.Add(new(GgufChange.Changed, false, key, $"{Describe(value)} -> {Describe(other)}{FirstArrayDifference(value, other)}"));
            }
        }
        foreach (var (key, value) in b)
        {
            if (!a.ContainsKey(key))
            {
                differences.Add(new(GgufChange.Added, false, key, Describe(value)));
            }
        }
        var common = new HashSet<string>(a.Keys.Where(b.ContainsKey), StringComparer.Ordinal);
        if (!a.Keys.Where(common.Contains).SequenceEqual(b.Keys.Where(common.Contains), StringComparer.Ordinal))
        {
            differences.Add(new(GgufChange.Changed, false, "(order)", "the keys both files have are in a different order"));
        }
    }

    static void CompareTensors(GgufFile a, GgufFile b, List<GgufDifference> differences, CancellationToken cancellationToken)
    {
        foreach (var tensor in a.Tensors)
        {
            var other = b.FindTensor(tensor.Name);
            if (other is null)
            {
                differences.Add(new(GgufChange.Removed, true, tensor.Name, Describe(tensor.Info)));
                continue;
            }
            var changes = new List<string>();
            if (tensor.Type != other.Type)
            {
                changes.Add($"type {TypeName(tensor.Type)} -> {TypeName(other.Type)}");
            }
            if (!tensor.Shape.SequenceEqual(other.Shape))
            {
                changes.Add($"shape {Shape(tensor.Info)} -> {Shape(other.Info)}");
            }
            if (changes.Count == 0)
            {
                var (hashA, hashB) = (Sha256(tensor, cancellationToken), Sha256(other, cancellationToken));
                if (hashA != hashB)
                {
                    changes.Add($"bytes sha256:{hashA[..16]}… -> sha256:{hashB[..16]}…");
                }
            }
            if (changes.Count > 0)
            {
                differences.Add(new(GgufChange.Changed, true, tensor.Name, string.Join("; ", changes)));
            }
        }
        foreach (var tensor in b.Tensors)
        {
            if (a.FindTensor(tensor.Name) is null)
            {
                differences.Add(new(GgufChange.Added, true, tensor.Name, Describe(tensor.Info)));
            }
        }
        var common = new HashSet<string>(a.Tensors.Select(t => t.Name).Where(n => b.FindTensor(n) is not null), StringComparer.Ordinal);
        if (!a.Tensors.Select(t => t.Name).Where(common.Contains).SequenceEqual(b.Tensors.Select(t => t.Name).Where(common.Contains), StringComparer.Ordinal))
        {
            differences.Add(new(GgufChange.Changed, true, "(order)", "the tensors both files have are in a different order"));
        }
    }

    /// <summary>The SHA-256 of a tensor's bytes, as lower-case hex.</summary>
    public static string Sha256(GgufTensor tensor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long start = 0; start < tensor.ByteSize; start += HashChunkBytes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            hash.AppendData(tensor.Slice(start, (int)Math.Min(HashChunkBytes, tensor.ByteSize - start)));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    static string Describe(GgufValue value)
    {
        var type = value.Type == GgufValueType.Array ? $"arr[{GgufValueTypes.Name(value.AsArray().ElementType)}]" : GgufValueTypes.Name(value.Type);
        var text = value.Type == GgufValueType.String ? $"\"{Shorten(value.AsString())}\"" : value.ToString();
        return $"{type} {text}";
    }

    static string FirstArrayDifference(GgufValue a, GgufValue b)
    {
        if (a.Type != GgufValueType.Array || b.Type != GgufValueType.Array)
        {
            return "";
        }
        var (x, y) = (a.AsArray(), b.AsArray());
        if (x.ElementType != y.ElementType)
        {
            return "";
        }
        var n = Math.Min(x.Count, y.Count);
        for (var i = 0; i < n; i++)
        {
            if (!Equals(x.Items.GetValue(i), y.Items.GetValue(i)))
            {
                return $" (first difference at item {i})";
            }
        }
        return x.Count == y.Count ? "" : $" ({x.Count} -> {y.Count} items)";
    }

    static string Shorten(string s) => s.Length <= 60 ? s.ReplaceLineEndings("\\n") : s[..57].ReplaceLineEndings("\\n") + "...";

    static string Describe(GgufTensorInfo info) => $"{TypeName(info.Type)} {Shape(info)}";

    static string Shape(GgufTensorInfo info) => $"[{string.Join(", ", info.Shape)}]";

    static string TypeName(GgmlType type) => GgmlTypeInfo.Of(type).Name;
}
