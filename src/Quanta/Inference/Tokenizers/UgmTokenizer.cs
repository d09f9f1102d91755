using System.Buffers.Binary;
using System.Text;

namespace Quanta.Inference.Tokenizers;

/// <summary>
/// SentencePiece's unigram model (T5) as llama.cpp runs it (llama-vocab.cpp's <c>llm_tokenizer_ugm</c>): the text
/// is normalized (the precompiled character map, spaces as U+2581, optional space prefix and merged spaces), then
/// Viterbi picks the segmentation with the highest sum of token scores; a character no token covers costs the
/// lowest score minus 10 and becomes the unknown token (runs of them merged into one).
/// </summary>
internal sealed class UgmTokenizer
{
    const string EscapedSpace = "\u00E2\u0096\u0081"; // U+2581 as a byte string
    const double UnknownPenalty = 10.0;

    readonly Vocabulary _vocabulary;
    readonly double _unknownScore;
    readonly PrecompiledCharsmap? _charsmap;
    readonly int _longestUserDefined;

    public UgmTokenizer(Vocabulary vocabulary, byte[]? precompiledCharsmap)
    {
        _vocabulary = vocabulary;
        var minScore = float.MaxValue;
        for (var id = 0; id < vocabulary.Count; id++)
        {
            var attributes = vocabulary.RawAttributes(id);
            if ((attributes & TokenAttributes.Normal) != 0)
            {
                minScore = Math.Min(minScore, vocabulary.Score(id));
            }
            if ((attributes & TokenAttributes.UserDefined) != 0)
            {
                _longestUserDefined = Math.Max(_longestUserDefined, vocabulary.RawText(id).Length);
            }
        }
        _unknownScore = (double)(minScore - (float)UnknownPenalty);
        _charsmap = precompiledCharsmap is { Length: > 0 } ? new PrecompiledCharsmap(precompiledCharsmap) : null;
    }

    bool InTokenMatcher(int id) =>
        (_vocabulary.RawAttributes(id) & (TokenAttributes.Normal | TokenAttributes.UserDefined | TokenAttributes.Unused)) != 0;

    public void Tokenize(string text, List<int> output)
    {
        var normalized = Normalize(text);
        var length = normalized.Length;
        if (length == 0)
        {
            return;
        }
        var unknown = _vocabulary.Unknown;
        var best = new (int Token, int Start, double Score)[length + 1];
        Array.Fill(best, (unknown, 0, -double.MaxValue));
        best[0] = (unknown, 0, 0);

        var maxLength = _vocabulary.MaxTokenLength;
        for (var offset = 0; offset < length;)
        {
            var units = Math.Min(ByteText.SequenceLength(normalized[offset]), length - offset);
            var current = best[offset].Score;
            var singleCodepointFound = false;
            for (var end = offset + 1; end <= Math.Min(length, offset + maxLength); end++)
            {
                var token = _vocabulary.FindBytes(normalized.AsSpan(offset, end - offset));
                if (token == Vocabulary.NoToken || !InTokenMatcher(token))
                {
                    continue;
                }
                if (end - offset == units)
                {
                    singleCodepointFound = true;
                }
                // User-defined tokens score 0, above every log probability (llama.cpp sums in double, as SentencePiece).
                double score = (_vocabulary.RawAttributes(token) & TokenAttributes.UserDefined) != 0 ? 0.0 : _vocabulary.Score(token);
                var challenger = current + score;
                if (challenger > best[end].Score)
                {
                    best[end] = (token, offset, challenger);
                }
            }
            if (!singleCodepointFound)
            {
                var challenger = current + _unknownScore;
                var end = offset + units;
                if (challenger > best[end].Score)
                {
                    best[end] = (unknown, offset, challenger);
                }
            }
            offset += units;
        }

        var first = output.Count;
        var previousUnknown = false;
        for (var position = length; ;)
        {
            var (token, start, _) = best[position];
            var isUnknown = token == unknown;
            if (!(previousUnknown && isUnknown))
            {
                output.Add(token);
            }
            if (start == 0)
            {
                break;
            }
            previousUnknown = isUnknown;
            position = start;
        }
        output.Reverse(first, output.Count - first);
    }

    /// <summary>llama.cpp's UGM <c>normalize</c>.</summary>
    string Normalize(string input)
    {
        var v = _vocabulary;
        var space = v.EscapeWhitespaces ? EscapedSpace : " ";
        var prependSpace = v.AddSpacePrefix;
        var mergeSpaces = v.RemoveExtraWhitespaces;
        var output = new StringBuilder(input.Length * 3);
        var spacePrepended = false;
        var inWord = false;
        for (var offset = 0; offset < input.Length;)
        {
            var (replacement, consumed) = NormalizePrefix(input, offset);
            foreach (var c in replacement)
            {
                if (c != ' ')
                {
                    if (!inWord)
                    {
                        inWord = true;
                        if ((prependSpace && !spacePrepended) || mergeSpaces)
                        {
                            output.Append(space);
                            spacePrepended = true;
                        }
                    }
                    output.Append(c);
                }
                else
                {
                    inWord = false;
                    if (!mergeSpaces)
                    {
                        output.Append(space);
                    }
                }
            }
            offset += consumed;
        }
        return output.ToString();
    }

    /// <summary>
    /// The normalization of the input's next piece: a user-defined token as it is, else the longest match in the
    /// precompiled character map, else one UTF-8 character (an invalid byte becomes U+FFFD).
    /// </summary>
    (string Replacement, int Consumed) NormalizePrefix(string input, int offset)
    {
        for (var length = Math.Min(_longestUserDefined, input.Length - offset); length > 0; length--)
        {
            var token = _vocabulary.FindBytes(input.AsSpan(offset, length));
            if (token != Vocabulary.NoToken && (_vocabulary.RawAttributes(token) & TokenAttributes.UserDefined) != 0)
            {
                return (input.Substring(offset, length), length);
            }
        }
        if (_charsmap?.LongestMatch(input, offset) is { } match)
        {
            return match;
        }
        var next = offset;
        var cpt = ByteText.DecodeOne(input, ref next);
        return cpt == ByteText.ReplacementCharacter && next - offset == 1
            ? ("\u00EF\u00BF\u00BD", 1)
            : (input[offset..next], next - offset);
    }

    /// <summary>
    /// SentencePiece's precompiled character map: a 32-bit size, an XOR-compressed compact double array (XCDA:
    /// BASE in bits 10–30, LEAF in bit 8, LCHECK in bits 0–7 and 31) over the input bytes, then the
    /// NUL-terminated replacement strings its leaves point to.
    /// </summary>
    sealed class PrecompiledCharsmap
    {
        readonly uint[] _nodes;
        readonly byte[] _replacements;

        public PrecompiledCharsmap(byte[] blob)
        {
            if (blob.Length < 4)
            {
                throw new VocabularyFormatException("precompiled_charsmap too small for xcda_blob_size header!");
            }
            var size = BinaryPrimitives.ReadUInt32LittleEndian(blob);
            if ((ulong)size + 4 >= (ulong)blob.Length)
            {
                throw new VocabularyFormatException("Index out of array bounds in precompiled charsmap!");
            }
            _nodes = new uint[size / 4];
            for (var i = 0; i < _nodes.Length; i++)
            {
                _nodes[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + i * 4));
            }
            _replacements = blob[(4 + (int)size)..];
        }

        uint Node(uint index) => index < _nodes.Length
            ? _nodes[index]
            : throw new VocabularyFormatException("Index out of array bounds in XCDA array!");

        uint Base(uint index)
        {
            var node = Node(index);
            return (node >> 10) << (int)((node & (1u << 9)) >> 6);
        }

        uint LCheck(uint index) => Node(index) & ((1u << 31) | 0xFF);

        bool Leaf(uint index) => ((Node(index) >> 8) & 1) != 0;

        uint Value(uint index) => Node(index) & ((1u << 31) - 1);

        public (string Replacement, int Consumed)? LongestMatch(string input, int offset)
        {
            var longestLength = 0;
            uint longestOffset = 0;
            var node = Base(0);
            for (var i = offset; i < input.Length; i++)
            {
                var c = (uint)input[i];
                if (c == 0)
                {
                    break;
                }
                node ^= c;
                if (LCheck(node) != c)
                {
                    break;
                }
                var leaf = Leaf(node);
                node ^= Base(node);
                if (leaf)
                {
                    longestLength = i - offset + 1;
                    longestOffset = Value(node);
                }
            }
            if (longestLength == 0)
            {
                return null;
            }
            if (longestOffset >= _replacements.Length)
            {
                throw new VocabularyFormatException("Index out of array bounds in precompiled charsmap!");
            }
            var end = Array.IndexOf(_replacements, (byte)0, (int)longestOffset);
            if (end < 0)
            {
                throw new VocabularyFormatException("Unterminated string in precompiled charsmap!");
            }
            return (ByteText.FromBytes(_replacements.AsSpan((int)longestOffset, end - (int)longestOffset)), longestLength);
        }
    }
}
