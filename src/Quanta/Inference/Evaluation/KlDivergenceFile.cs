using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Quanta.Inference.Evaluation;

/// <summary>
/// llama-perplexity's base log-probability file (<c>--kl-divergence-base</c>), byte for byte, so that files pass
/// between it and Quanta in both directions. Layout, little-endian, from examples/perplexity/perplexity.cpp
/// (<c>perplexity()</c> writes it, <c>kl_divergence()</c> reads it):
/// <code>
/// char     magic[8]  = "_logits_"                    logits_stream.write("_logits_", 8)
/// int32    n_ctx                                     logits_stream.write(&amp;n_ctx, sizeof(n_ctx))
/// int32    n_vocab                                   logits_stream.write(&amp;n_vocab, ...)
/// int32    n_chunk                                   logits_stream.write(&amp;n_chunk, ...)
/// int32    tokens[n_chunk * n_ctx]                   the text's tokens as tokenized (BOS not substituted)
/// per chunk, n_ctx - 1 - n_ctx/2 rows (the scored positions n_ctx/2 .. n_ctx - 2), each nv = 2*((n_vocab+1)/2) + 4
/// uint16:  float scale, float min_log_prob, then one uint16 code per token (padding to an even count is zero)
///                                                    process_logits(std::ostream&amp;, ...): out.write(log_probs, n_token*nv*2)
/// </code>
/// A token's log-probability is <c>scale * code + min_log_prob</c>; codes of logits more than 16 below the
/// maximum are 0.
/// </summary>
public sealed class KlDivergenceFile
{
    static ReadOnlySpan<byte> Magic => "_logits_"u8;

    KlDivergenceFile(int context, int vocabularySize, int chunkCount, int[] tokens)
    {
        Context = context;
        VocabularySize = vocabularySize;
        ChunkCount = chunkCount;
        Tokens = tokens;
    }

    /// <summary>The context (chunk length) the base was computed with.</summary>
    public int Context { get; }

    public int VocabularySize { get; }

    public int ChunkCount { get; }

    /// <summary>The <see cref="ChunkCount"/> × <see cref="Context"/> tokens evaluated, as tokenized.</summary>
    public IReadOnlyList<int> Tokens { get; }

    /// <summary>uint16 slots per row: two floats, then the vocabulary rounded up to an even count.</summary>
    public static int RowLength(int vocabularySize) => 2 * ((vocabularySize + 1) / 2) + 4;

    /// <summary>Scored positions per chunk: the second half, less the last position (it predicts nothing).</summary>
    public static int ScoredPerChunk(int context) => context - 1 - context / 2;

    public static void WriteHeader(Stream stream, int context, int vocabularySize, int chunkCount, ReadOnlySpan<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNotEqual(tokens.Length, context * chunkCount);
        Span<byte> header = stackalloc byte[20];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], context);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], vocabularySize);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], chunkCount);
        stream.Write(header);
        WriteLittleEndian(stream, tokens);
    }

    /// <summary>Writes one chunk's rows (<see cref="ScoredPerChunk"/> × <see cref="RowLength"/> uint16).</summary>
    public static void WriteChunk(Stream stream, ReadOnlySpan<ushort> rows)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WriteLittleEndian(stream, rows);
    }

    /// <summary>Reads the header and tokens, leaving <paramref name="stream"/> at the first chunk's rows.</summary>
    public static KlDivergenceFile ReadHeader(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[20];
        if (stream.ReadAtLeast(header[..8], 8, throwOnEndOfStream: false) < 8 || !header[..8].SequenceEqual(Magic))
        {
            throw new EvaluationInputException($"{name} does not look like a file containing log-probabilities (no \"_logits_\" at its start)");
        }
        if (stream.ReadAtLeast(header[8..], 12, throwOnEndOfStream: false) < 12)
        {
            throw new EvaluationInputException($"{name}: failed reading n_ctx, n_vocab, n_chunk");
        }
        var context = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        var vocabulary = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        var chunks = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        if (context < 4 || vocabulary < 1 || chunks < 1 || (long)context * chunks > Array.MaxLength)
        {
            throw new EvaluationInputException($"{name}: implausible header (n_ctx {context}, n_vocab {vocabulary}, n_chunk {chunks})");
        }
        var tokens = new int[context * chunks];
        if (stream.ReadAtLeast(MemoryMarshal.AsBytes(tokens.AsSpan()), tokens.Length * sizeof(int), throwOnEndOfStream: false) < tokens.Length * sizeof(int))
        {
            throw new EvaluationInputException($"{name}: failed reading the {tokens.Length} evaluation tokens");
        }
        FromLittleEndian(tokens.AsSpan());
        return new KlDivergenceFile(context, vocabulary, chunks, tokens);
    }

    /// <summary>Reads chunk <paramref name="chunk"/>'s rows into <paramref name="rows"/>.</summary>
    public static void ReadChunk(Stream stream, Span<ushort> rows, int chunk, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var bytes = MemoryMarshal.AsBytes(rows);
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
        {
            throw new EvaluationInputException($"{name}: failed reading log-probs for chunk {chunk}");
        }
        if (!BitConverter.IsLittleEndian)
        {
            for (var i = 0; i < rows.Length; i++)
            {
                rows[i] = BinaryPrimitives.ReverseEndianness(rows[i]);
            }
        }
    }

    static void WriteLittleEndian<T>(Stream stream, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        var copy = values.ToArray();
        if (copy is int[] ints)
        {
            BinaryPrimitives.ReverseEndianness(ints, ints);
        }
        else if (copy is ushort[] shorts)
        {
            BinaryPrimitives.ReverseEndianness(shorts, shorts);
        }
        stream.Write(MemoryMarshal.AsBytes(copy.AsSpan()));
    }

    static void FromLittleEndian(Span<int> values)
    {
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(values, values);
        }
    }
}
