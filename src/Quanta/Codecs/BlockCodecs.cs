using System.Diagnostics.CodeAnalysis;
using Quanta.Formats;

namespace Quanta.Codecs;

/// <summary>
/// The codec for each ggml type. A plain table indexed by type id, built from one list of instances:
/// adding a format is one line in <see cref="Registered"/>.
/// </summary>
public static class BlockCodecs
{
    static readonly IBlockCodec[] Registered =
    [
        new F32Codec(),
        new F16Codec(),
        new BF16Codec(),
        new Q4_0Codec(),
        new Q4_1Codec(),
        new Q5_0Codec(),
        new Q5_1Codec(),
        new Q8_0Codec(),
        new Q2_KCodec(),
        new Q3_KCodec(),
        new Q4_KCodec(),
        new Q5_KCodec(),
        new Q6_KCodec(),
        new IQ4_NLCodec(),
        new IQ4_XSCodec(),
        new TQ1_0Codec(),
        new TQ2_0Codec(),
        new MXFP4Codec(),
        new NVFP4Codec(),
        new Q1_0Codec(),
        new Q2_0Codec(),
        new IQ3_XXSCodec(),
        new IQ3_SCodec(),
        new IQ2_XXSCodec(),
        new IQ2_XSCodec(),
        new IQ2_SCodec(),
        new IQ1_SCodec(),
        new IQ1_MCodec(),
        new Q8_1Codec(),
        new Q8_KCodec(),
    ];

    static readonly IBlockCodec?[] ById = BuildTable(Registered);

    static IBlockCodec?[] BuildTable(IBlockCodec[] codecs)
    {
        var table = new IBlockCodec?[GgmlTypeInfo.MaxId + 1];
        foreach (var codec in codecs)
        {
            var id = (int)codec.Type;
            if (table[id] is not null)
            {
                // Two codecs for one type is a programming error; fail at start-up, not on some later file.
                throw new InvalidOperationException($"two codecs registered for {GgmlTypeInfo.Of(codec.Type).Name}");
            }
            table[id] = codec;
        }
        return table;
    }

    /// <summary>Every registered codec, in registration order.</summary>
    public static IReadOnlyList<IBlockCodec> All => Registered;

    /// <summary>The codec for <paramref name="type"/>, or false when Quanta has none (or the id is unknown).</summary>
    public static bool TryGet(GgmlType type, [NotNullWhen(true)] out IBlockCodec? codec)
    {
        var id = (int)type;
        codec = id is >= 0 and <= GgmlTypeInfo.MaxId ? ById[id] : null;
        return codec is not null;
    }

    /// <summary>The codec for <paramref name="type"/>; <see cref="NotSupportedException"/> naming the type when there is none.</summary>
    public static IBlockCodec Get(GgmlType type)
    {
        if (TryGet(type, out var codec))
        {
            return codec;
        }
        var what = GgmlTypeInfo.TryGet((int)type, out var info)
            ? $"Quanta has no codec for ggml type {info.Name} (id {(int)type}) yet"
            : GgmlTypeInfo.DescribeUnknownId((int)type);
        throw new NotSupportedException(what);
    }
}
