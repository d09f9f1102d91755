using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Quanta.Formats;

/// <summary>
/// What ggml knows about one element type: its name, how many elements a block holds and how many bytes
/// a block takes (<c>type_traits[]</c> in ggml.c). Row size = bytes × elements ÷ block elements.
/// </summary>
public sealed record GgmlTypeInfo(GgmlType Type, string Name, int BlockElements, int BlockBytes, bool IsQuantized)
{
    /// <summary>Bits each element costs on disk, scales included.</summary>
    public double BitsPerWeight => BlockBytes * 8.0 / BlockElements;

    /// <summary>Highest id ggml has ever assigned (GGML_TYPE_COUNT − 1 in the August 2026 source).</summary>
    public const int MaxId = 42;

    static readonly GgmlTypeInfo[] All =
    [
        new(GgmlType.F32, "f32", 1, 4, false),
        new(GgmlType.F16, "f16", 1, 2, false),
        new(GgmlType.Q4_0, "q4_0", 32, 18, true),
        new(GgmlType.Q4_1, "q4_1", 32, 20, true),
        new(GgmlType.Q5_0, "q5_0", 32, 22, true),
        new(GgmlType.Q5_1, "q5_1", 32, 24, true),
        new(GgmlType.Q8_0, "q8_0", 32, 34, true),
        new(GgmlType.Q8_1, "q8_1", 32, 36, true),
        new(GgmlType.Q2_K, "q2_K", 256, 84, true),
        new(GgmlType.Q3_K, "q3_K", 256, 110, true),
        new(GgmlType.Q4_K, "q4_K", 256, 144, true),
        new(GgmlType.Q5_K, "q5_K", 256, 176, true),
        new(GgmlType.Q6_K, "q6_K", 256, 210, true),
        new(GgmlType.Q8_K, "q8_K", 256, 292, true),
        new(GgmlType.IQ2_XXS, "iq2_xxs", 256, 66, true),
        new(GgmlType.IQ2_XS, "iq2_xs", 256, 74, true),
        new(GgmlType.IQ3_XXS, "iq3_xxs", 256, 98, true),
        new(GgmlType.IQ1_S, "iq1_s", 256, 50, true),
        new(GgmlType.IQ4_NL, "iq4_nl", 32, 18, true),
        new(GgmlType.IQ3_S, "iq3_s", 256, 110, true),
        new(GgmlType.IQ2_S, "iq2_s", 256, 82, true),
        new(GgmlType.IQ4_XS, "iq4_xs", 256, 136, true),
        new(GgmlType.I8, "i8", 1, 1, false),
        new(GgmlType.I16, "i16", 1, 2, false),
        new(GgmlType.I32, "i32", 1, 4, false),
        new(GgmlType.I64, "i64", 1, 8, false),
        new(GgmlType.F64, "f64", 1, 8, false),
        new(GgmlType.IQ1_M, "iq1_m", 256, 56, true),
        new(GgmlType.BF16, "bf16", 1, 2, false),
        new(GgmlType.TQ1_0, "tq1_0", 256, 54, true),
        new(GgmlType.TQ2_0, "tq2_0", 256, 66, true),
        new(GgmlType.MXFP4, "mxfp4", 32, 17, true),
        new(GgmlType.NVFP4, "nvfp4", 64, 36, true),
        new(GgmlType.Q1_0, "q1_0", 128, 18, true),
        new(GgmlType.Q2_0, "q2_0", 64, 18, true),
    ];

    static readonly GgmlTypeInfo?[] ById = BuildIdTable();

    static readonly FrozenDictionary<string, GgmlTypeInfo> ByName =
        All.ToFrozenDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);

    static readonly FrozenDictionary<int, string> RemovedNames = new Dictionary<int, string>
    {
        [4] = "q4_2", [5] = "q4_3",
        [31] = "q4_0_4_4", [32] = "q4_0_4_8", [33] = "q4_0_8_8",
        [36] = "iq4_nl_4_4", [37] = "iq4_nl_4_8", [38] = "iq4_nl_8_8",
    }.ToFrozenDictionary();

    static GgmlTypeInfo?[] BuildIdTable()
    {
        var table = new GgmlTypeInfo?[MaxId + 1];
        foreach (var info in All)
        {
            table[(int)info.Type] = info;
        }
        return table;
    }

    /// <summary>Every type ggml still defines, in id order.</summary>
    public static IReadOnlyList<GgmlTypeInfo> Types => All;

    /// <summary>The entry for a known type.</summary>
    public static GgmlTypeInfo Of(GgmlType type) =>
        TryGet((int)type, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(type), type, "not a ggml type");

    /// <summary>Looks up an id read from a file; false for ids never assigned or since removed.</summary>
    public static bool TryGet(int id, [NotNullWhen(true)] out GgmlTypeInfo? info)
    {
        info = id is >= 0 and <= MaxId ? ById[id] : null;
        return info is not null;
    }

    /// <summary>Why an id is not usable, for error messages: removed types are named.</summary>
    public static string DescribeUnknownId(int id) =>
        RemovedNames.TryGetValue(id, out var name)
            ? $"ggml type {id} ({name}) was removed from ggml and is no longer supported; re-convert the model"
            : $"unknown ggml type {id}";

    /// <summary>Case-insensitive lookup by ggml's name (<c>q4_K</c>, <c>Q4_K</c>, <c>bf16</c>).</summary>
    public static bool TryParse(string name, [NotNullWhen(true)] out GgmlTypeInfo? info) =>
        ByName.TryGetValue(name, out info);

    /// <summary>Bytes of one row of <paramref name="elements"/> elements; the row must hold whole blocks.</summary>
    public long RowBytes(long elements)
    {
        if (elements % BlockElements != 0)
        {
            throw new ArgumentException($"a {Name} row of {elements} elements is not a whole number of {BlockElements}-element blocks", nameof(elements));
        }
        return elements / BlockElements * BlockBytes;
    }
}
