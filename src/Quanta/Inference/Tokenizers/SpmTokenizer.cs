namespace Quanta.Inference.Tokenizers;

/// <summary>
/// SentencePiece BPE as llama.cpp runs it (llama-vocab.cpp's <c>llm_tokenizer_spm_session</c>): the text is cut into
/// UTF-8 characters, then the adjacent pair whose concatenation is the highest-scoring token is merged, again and
/// again (ties: leftmost first). What is left is a token, or its bytes as byte-fallback tokens.
/// </summary>
internal sealed class SpmTokenizer(Vocabulary vocabulary)
{
    // The queue orders by score, highest first, then by left position, lowest first: one long key (see Priority)
    // so that the default comparer, not a delegate, does the comparing.
    readonly PriorityQueue<Bigram, long> _queue = new();

    readonly List<Symbol> _symbols = [];

    /// <summary>Tokenizes a byte string (spaces already escaped as U+2581) and appends the ids.</summary>
    public void Tokenize(string text, List<int> output)
    {
        _symbols.Clear();
        _queue.Clear();
        var offset = 0;
        var index = 0;
        while (offset < text.Length)
        {
            var length = Math.Min(ByteText.SequenceLength(text[offset]), text.Length - offset);
            offset += length;
            _symbols.Add(new Symbol(offset - length, length, index - 1, offset == text.Length ? -1 : index + 1));
            index++;
        }
        for (var i = 1; i < _symbols.Count; i++)
        {
            TryAddBigram(text, i - 1, i);
        }

        while (_queue.TryDequeue(out var bigram, out _))
        {
            var left = _symbols[bigram.Left];
            var right = _symbols[bigram.Right];
            // Skip a pair one of whose symbols has been merged since it was queued.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size)
            {
                continue;
            }
            left.Length += right.Length;
            left.Next = right.Next;
            right.Length = 0;
            if (right.Next >= 0)
            {
                var after = _symbols[right.Next];
                after.Previous = bigram.Left;
                _symbols[right.Next] = after;
            }
            _symbols[bigram.Left] = left;
            _symbols[bigram.Right] = right;
            TryAddBigram(text, left.Previous, bigram.Left);
            TryAddBigram(text, bigram.Left, left.Next);
        }

        for (var i = 0; i != -1 && _symbols.Count > 0; i = _symbols[i].Next)
        {
            Resegment(text, _symbols[i], output);
        }
    }

    /// <summary>
    /// A symbol is a token, or, when it is not (only a single character can fail, since merges only ever make
    /// tokens), its bytes as byte tokens.
    /// </summary>
    void Resegment(string text, Symbol symbol, List<int> output)
    {
        var span = text.AsSpan(symbol.Start, symbol.Length);
        var token = vocabulary.FindBytes(span);
        if (token != Vocabulary.NoToken)
        {
            output.Add(token);
            return;
        }
        foreach (var b in span)
        {
            output.Add(vocabulary.ByteToToken((byte)b));
        }
    }

    void TryAddBigram(string text, int left, int right)
    {
        if (left == -1 || right == -1)
        {
            return;
        }
        var start = _symbols[left].Start;
        var size = _symbols[left].Length + _symbols[right].Length;
        var token = vocabulary.FindBytes(text.AsSpan(start, size));
        if (token == Vocabulary.NoToken)
        {
            return;
        }
        _queue.Enqueue(new Bigram(left, right, size), Priority(vocabulary.Score(token), left));
    }

    /// <summary>
    /// The float's bits made to sort as integers (flipping the magnitude of negatives), inverted so that higher
    /// scores come first, in the high half; the left position in the low half.
    /// </summary>
    static long Priority(float score, int left)
    {
        // -0 and +0 are equal scores, as in llama.cpp's float comparison.
        var bits = score == 0 ? 0 : BitConverter.SingleToInt32Bits(score);
        var sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF);
        return ((long)~sortable << 32) | (uint)left;
    }

    record struct Symbol(int Start, int Length, int Previous, int Next);

    readonly record struct Bigram(int Left, int Right, int Size);
}
