using Quanta.Formats;

namespace Quanta.Quantization;

/// <summary>The type chosen for one tensor and why.</summary>
/// <param name="Type">The type the tensor is written in.</param>
/// <param name="Reason">What chose the type (before the row-length fallback).</param>
/// <param name="Detail">Short text for listings: the skip-list entry, the rule, the pattern.</param>
/// <param name="FallbackFrom">The type chosen first, when the row length forced a fallback to <paramref name="Type"/>.</param>
/// <param name="Override">The <c>--tensor-type</c> override that matched, if any.</param>
public sealed record TensorTypeDecision(
    GgmlType Type,
    TensorTypeReason Reason,
    string Detail,
    GgmlType? FallbackFrom = null,
    TensorTypeOverride? Override = null);
