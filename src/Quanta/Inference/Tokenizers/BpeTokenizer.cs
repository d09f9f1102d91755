namespace Quanta.Inference.Tokenizers;

/// <summary>
/// Byte-level BPE as llama.cpp runs it (llama-vocab.cpp's <c>llm_tokenizer_bpe_session</c>): the pre-tokenizer
/// splits the text into words, each word is written in GPT-2's byte-level alphabet and cut into characters, and
/// the adjacent pair with the lowest merge rank is merged until no pair has one (ties: leftmost first).
/// </summary>
internal sealed class BpeTokenizer(Vocabulary vocabulary, RegexSplitter splitter)
{
    readonly PriorityQueue<Bigram, (int Rank, int Left)> _queue = new();
    readonly List<Symbol> _symbols = [];
    char[] _word = new char[64];
    int _wordLength;
    char[] _scratch = new char[64];

    /// <summary>Tokenizes a byte string and appends the ids.</summary>
    public void Tokenize(string text, List<int> output)
    {
        var cpts = ByteText.Codepoints(text);
        var offsets = splitter.Split(cpts);
        var start = 0;
        foreach (var length in offsets)
        {
            _wordLength = 0;
            for (var i = start; i < start + length; i++)
            {
                AppendByteLevel(cpts[i]);
            }
            start += length;
            TokenizeWord(output);
        }
    }

    /// <summary>Appends a code point's UTF-8 bytes in GPT-2's byte-level alphabet to the word being built.</summary>
    void AppendByteLevel(int cpt)
    {
        Span<char> utf8 = stackalloc char[4];
        foreach (var b in utf8[..ByteText.EncodeUtf8(cpt, utf8)])
        {
            var text = ByteLevelEncoding.Encode((byte)b);
            if (_wordLength + text.Length > _word.Length)
            {
                Array.Resize(ref _word, _word.Length * 2);
            }
            text.CopyTo(_word.AsSpan(_wordLength));
            _wordLength += text.Length;
        }
    }

    void TokenizeWord(List<int> output)
    {
        ReadOnlySpan<char> word = _word.AsSpan(0, _wordLength);
        _symbols.Clear();
        _queue.Clear();
        var offset = 0;
        if (vocabulary.IgnoreMerges && vocabulary.FindBytes(word) != Vocabulary.NoToken)
        {
            _symbols.Add(new Symbol(0, word.Length, -1, -1));
            offset = word.Length;
        }
        var index = 0;
        while (offset < word.Length)
        {
            var length = Math.Min(word.Length - offset, ByteText.SequenceLength(word[offset]));
            offset += length;
            _symbols.Add(new Symbol(offset - length, length, index - 1, offset == word.Length ? -1 : index + 1));
            index++;
        }
        for (var i = 1; i < _symbols.Count; i++)
        {
            AddBigram(i - 1, i);
        }

        while (_queue.TryDequeue(out var bigram, out _))
        {
            var left = _symbols[bigram.Left];
            var right = _symbols[bigram.Right];
            // Symbols start where they always started and only grow, so unchanged lengths mean an unchanged pair.
            if (left.Length == 0 || right.Length == 0 || left.Length != bigram.LeftLength || right.Length != bigram.RightLength)
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
            AddBigram(left.Previous, bigram.Left);
            AddBigram(bigram.Left, left.Next);
        }

        foreach (var symbol in _symbols)
        {
            if (symbol.Length == 0)
            {
                continue;
            }
            var span = word.Slice(symbol.Start, symbol.Length);
            var token = vocabulary.FindBytes(span);
            if (token != Vocabulary.NoToken)
            {
                output.Add(token);
                continue;
            }
            // Not a token: llama.cpp looks up each byte of the byte-level text on its own and drops the misses.
            foreach (var b in span)
            {
                ReadOnlySpan<char> single = [b];
                var byteToken = vocabulary.FindBytes(single);
                if (byteToken != Vocabulary.NoToken)
                {
                    output.Add(byteToken);
                }
            }
        }
    }

    void AddBigram(int left, int right)
    {
        ReadOnlySpan<char> word = _word.AsSpan(0, _wordLength);
        if (left == -1 || right == -1)
        {
            return;
        }
        var l = _symbols[left];
        var r = _symbols[right];
        var rank = vocabulary.MergeRank(word.Slice(l.Start, l.Length), word.Slice(r.Start, r.Length), ref _scratch);
        if (rank < 0)
        {
            return;
        }
        _queue.Enqueue(new Bigram(left, right, l.Length, r.Length), (rank, left));
    }

    record struct Symbol(int Start, int Length, int Previous, int Next);

    readonly record struct Bigram(int Left, int Right, int LeftLength, int RightLength);
}
