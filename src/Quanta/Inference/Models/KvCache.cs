using Quanta.Formats;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Models;

/// <summary>
/// Every layer's keys (<c>[kv head][cell][row]</c>, rows of the key type: F16 or Q8_0 blocks as ggml's <c>ggml_cpy</c>
/// writes them) and F16 transposed values (<c>[kv head][dim][cell]</c>, llama.cpp's V layout without flash attention),
/// for up to <see cref="ContextLength"/> positions. <see cref="Length"/> positions are filled. The attention scratch is
/// per thread, in <see cref="AttentionHeads"/>.
/// </summary>
internal sealed class KvCache
{
    public KvCache(TransformerHyperparameters hp, int contextLength, GgmlType keyType)
    {
        if (!VecDots.TryGet(keyType, out var keyDot))
        {
            throw new ArgumentException($"no dot product for a {GgmlTypeInfo.Of(keyType).Name} key cache", nameof(keyType));
        }
        if (hp.KeyLength % GgmlTypeInfo.Of(keyType).BlockElements != 0)
        {
            throw new ArgumentException($"a {GgmlTypeInfo.Of(keyType).Name} key cache needs a head size that is a multiple of {GgmlTypeInfo.Of(keyType).BlockElements}, not {hp.KeyLength}", nameof(keyType));
        }
        KeyType = keyType;
        KeyDot = keyDot;
        KeyRowBytes = (int)GgmlTypeInfo.Of(keyType).RowBytes(hp.KeyLength);
        Capacity = Pad(contextLength);
        Keys = new byte[hp.BlockCount][];
        Values = new ushort[hp.BlockCount][];
        for (var l = 0; l < hp.BlockCount; l++)
        {
            Keys[l] = new byte[hp.KvHeadCount * Capacity * KeyRowBytes];
            Values[l] = new ushort[hp.KvHeadCount * hp.ValueLength * Capacity];
        }
    }

    public GgmlType KeyType { get; }

    /// <summary>The key type's dot product; its activation type is what the query is converted to.</summary>
    public IVecDot KeyDot { get; }

    public int KeyRowBytes { get; }

    public int Capacity { get; }

    public int ContextLength { get; private set; }

    public int Length { get; set; }

    public byte[][] Keys { get; }

    public ushort[][] Values { get; }

    public static int Pad(int n) => (n + Attention.KvPadding - 1) / Attention.KvPadding * Attention.KvPadding;

    /// <summary>Empties the cache for a new sequence of up to <paramref name="contextLength"/> positions.</summary>
    public void Clear(int contextLength)
    {
        ContextLength = contextLength;
        Length = 0;
        // llama.cpp's cache starts zeroed; masked cells then contribute exact zeros.
        foreach (var cells in Keys)
        {
            Array.Clear(cells);
        }
        foreach (var cells in Values)
        {
            Array.Clear(cells);
        }
    }

    /// <summary>
    /// Forgets the positions from <paramref name="length"/> on (zeroed, as a new cache starts), so the sequence
    /// continues there: llama.cpp's <c>llama_kv_cache_seq_rm(ctx, seq, length, -1)</c>.
    /// </summary>
    public void Truncate(int length, TransformerHyperparameters hp)
    {
        ArgumentNullException.ThrowIfNull(hp);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        var forgotten = Length - length;
        for (var l = 0; l < Keys.Length; l++)
        {
            for (var h = 0; h < hp.KvHeadCount; h++)
            {
                // Keys: [kv head][cell] rows of KeyRowBytes; values transposed: [kv head][dim][cell].
                Keys[l].AsSpan(((h * Capacity) + length) * KeyRowBytes, forgotten * KeyRowBytes).Clear();
                for (var d = 0; d < hp.ValueLength; d++)
                {
                    Values[l].AsSpan(((h * hp.ValueLength + d) * Capacity) + length, forgotten).Clear();
                }
            }
        }
        Length = length;
    }
}
