using System.Numerics;
using Quanta.Formats.Imatrix;
using Quanta.Inference.Evaluation;
using Quanta.Inference.Kernels;

namespace Quanta.Inference.Imatrix;

/// <summary>
/// llama-imatrix's <c>collect_imatrix</c>: for every multiplication by a weight whose name starts with
/// <c>blk.</c> (and by <c>output.weight</c> with <see cref="ProcessOutput"/>) over at least
/// <see cref="MinimumTokens"/> tokens, adds each column's squared activations (and the activations) into the
/// weight's entry of <see cref="Matrix"/>, one call and <c>tokens</c> rows more. Per-expert weights
/// (<c>*_exps</c>) are reported through <see cref="ObserveExperts"/>, each token's activations counted for the
/// experts it was routed to. Sums are float and sequential over tokens, per column, as in llama.cpp.
/// Like llama-imatrix it saves as it goes (<see cref="Save"/>): whenever a weight's count first reaches a new
/// whole chunk, in the middle of the forward pass, so the weights after it in the pass still hold the chunk before.
/// </summary>
public sealed class ImportanceMatrixCollector(ImportanceMatrix matrix, bool processOutput) : IExpertActivationObserver
{
    /// <summary>llama-imatrix ignores batches of fewer tokens (its scheduler callback says "why are small batches ignored?").</summary>
    public const int MinimumTokens = 16;

    public ImportanceMatrix Matrix { get; } = matrix ?? throw new ArgumentNullException(nameof(matrix));

    /// <summary>Whether <c>output.weight</c> is collected too (<c>--process-output</c>).</summary>
    public bool ProcessOutput { get; } = processOutput;

    /// <summary>
    /// llama-imatrix's <c>m_last_chunk</c>: the most whole chunks any weight's count has reached (a merged matrix
    /// starts from its own).
    /// </summary>
    public int LastChunk { get; private set; } = (int)(matrix.LargestCount() / matrix.ChunkSize);

    /// <summary><c>--output-frequency</c>: save to the output file every this many chunks (llama-imatrix's default 10).</summary>
    public int OutputFrequency
    {
        get;
        init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(OutputFrequency), value, "the output frequency is at least 1");
    } = 10;

    /// <summary><c>--save-frequency</c>: also save a copy (<c>OUT.at_N</c>) every this many chunks; 0: never.</summary>
    public int SaveFrequency { get; init; }

    /// <summary>
    /// Called where llama-imatrix saves, with <see cref="ImportanceMatrix.ChunkCount"/> set to <see cref="LastChunk"/>:
    /// <c>null</c> for the output file, N for the copy at chunk N.
    /// </summary>
    public Action<int?>? Save { get; init; }

    /// <summary>Whether a multiplication by <paramref name="weightName"/> over <paramref name="tokens"/> tokens is collected.</summary>
    public bool Collects(string weightName, int tokens)
    {
        ArgumentNullException.ThrowIfNull(weightName);
        return tokens >= MinimumTokens && (weightName.StartsWith("blk.", StringComparison.Ordinal) || (ProcessOutput && weightName == "output.weight"));
    }

    public void Observe(string weightName, ReadOnlySpan<float> activations, int tokens, int columns)
    {
        if (!Collects(weightName, tokens))
        {
            return;
        }
        var entry = Matrix.GetOrAdd(weightName, columns);
        for (var t = 0; t < tokens; t++)
        {
            AddSquares(activations.Slice(t * columns, columns), entry.SquaredSums, entry.Sums);
        }
        entry.Counts[0] += tokens;
        entry.Calls++;
        ThrowIfNonFinite(entry);
        CountReached(entry.Counts[0]);
    }

    /// <summary>
    /// A <c>MUL_MAT_ID</c> by the expert weights <paramref name="weightName"/> (<paramref name="expertCount"/>
    /// matrices of <paramref name="columns"/> columns): <paramref name="activations"/> holds, per token,
    /// <paramref name="rowsPerToken"/> rows (one shared by every selected expert, or one per selected expert), and
    /// <paramref name="selected"/> the <paramref name="expertsPerToken"/> experts chosen for each token. Every
    /// expert's sums are visited in llama.cpp's order: expert, then selection slot, then token.
    /// </summary>
    public void ObserveExperts(string weightName, int expertCount, int columns, ReadOnlySpan<float> activations, int rowsPerToken, ReadOnlySpan<int> selected, int expertsPerToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(expertCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(expertsPerToken, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerToken, 1);
        if (selected.Length % expertsPerToken != 0)
        {
            throw new ArgumentException($"{selected.Length} expert ids are not a whole number of tokens of {expertsPerToken}", nameof(selected));
        }
        var tokens = selected.Length / expertsPerToken;
        if (activations.Length < (long)tokens * rowsPerToken * columns)
        {
            throw new ArgumentException($"{activations.Length} activations cannot hold {tokens} tokens × {rowsPerToken} rows × {columns} columns", nameof(activations));
        }
        var entry = Matrix.GetOrAdd(weightName, columns, expertCount);
        // One call more before any expert can save (llama.cpp of February 2025 counts the call first).
        entry.Calls++;
        for (var expert = 0; expert < expertCount; expert++)
        {
            var squared = entry.SquaredSums.AsSpan(expert * columns, columns);
            var sums = entry.Sums is null ? default : entry.Sums.AsSpan(expert * columns, columns);
            for (var slot = 0; slot < expertsPerToken; slot++)
            {
                for (var token = 0; token < tokens; token++)
                {
                    var chosen = selected[token * expertsPerToken + slot];
                    if ((uint)chosen >= (uint)expertCount)
                    {
                        throw new ArgumentOutOfRangeException(nameof(selected), $"expert {chosen} of token {token} is outside 0..{expertCount - 1}");
                    }
                    if (chosen != expert)
                    {
                        continue;
                    }
                    var row = token * rowsPerToken + slot % rowsPerToken;
                    AddSquares(activations.Slice(row * columns, columns), squared, sums);
                    entry.Counts[expert]++;
                }
            }
            // llama-imatrix checks (and may save) expert by expert, before the next expert's sums.
            ThrowIfNonFinite(entry, squared);
            CountReached(entry.Counts[expert]);
        }
    }

    /// <summary>llama-imatrix's check after each weight (or expert): a new whole chunk saves when the frequencies say so.</summary>
    void CountReached(long count)
    {
        var chunk = (int)(count / Matrix.ChunkSize);
        if (chunk <= LastChunk)
        {
            return;
        }
        // More than one chunk at once (a batch longer than a chunk): llama.cpp's (n % freq) / step == 0 test.
        var step = chunk - LastChunk;
        LastChunk = chunk;
        if (Save is null)
        {
            return;
        }
        Matrix.ChunkCount = LastChunk;
        if (LastChunk % OutputFrequency / step == 0)
        {
            Save(null);
        }
        if (SaveFrequency > 0 && LastChunk % SaveFrequency / step == 0)
        {
            Save(LastChunk);
        }
    }

    // llama-imatrix stops at the first NaN or infinity ("nan detected in blk.0.ffn_down.weight").
    static void ThrowIfNonFinite(ImportanceMatrixEntry entry) => ThrowIfNonFinite(entry, entry.SquaredSums);

    static void ThrowIfNonFinite(ImportanceMatrixEntry entry, ReadOnlySpan<float> squaredSums)
    {
        foreach (var value in squaredSums)
        {
            if (!float.IsFinite(value))
            {
                throw new EvaluationInputException($"{value} detected in {entry.Name}");
            }
        }
    }

    static void AddSquares(ReadOnlySpan<float> x, Span<float> squared, Span<float> sums)
    {
        // Across columns, never across tokens: each column's sum keeps llama.cpp's sequential order.
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; j <= x.Length - Vector<float>.Count; j += Vector<float>.Count)
            {
                var v = new Vector<float>(x[j..]);
                (new Vector<float>(squared[j..]) + v * v).CopyTo(squared[j..]);
                if (!sums.IsEmpty)
                {
                    (new Vector<float>(sums[j..]) + v).CopyTo(sums[j..]);
                }
            }
        }
        for (; j < x.Length; j++)
        {
            squared[j] += x[j] * x[j];
            if (!sums.IsEmpty)
            {
                sums[j] += x[j];
            }
        }
    }
}
