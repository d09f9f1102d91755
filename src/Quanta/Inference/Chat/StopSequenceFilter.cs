using System.Text;

namespace Quanta.Inference.Chat;

/// <summary>
/// Holds back streamed text that may be the start of a stop sequence, so that a stop sequence is never shown, even
/// when it arrives split over several tokens (Ollama's runner: <c>findStop</c>, <c>containsStopSuffix</c>,
/// <c>truncateStop</c>). Text is given out once no stop sequence can begin in it; when one is complete, the text
/// before it is given out and the answer ends.
/// </summary>
public sealed class StopSequenceFilter
{
    readonly IReadOnlyList<string> _stops;
    readonly StringBuilder _pending = new();

    public StopSequenceFilter(IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        _stops = [.. stops.Where(s => s.Length > 0)];
    }

    /// <summary>Whether a stop sequence was found; nothing more is accepted then.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The stop sequence that ended the text, if any.</summary>
    public string? StoppedBy { get; private set; }

    /// <summary>Adds generated text; returns what can be shown now (possibly empty).</summary>
    public string Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Stopped)
        {
            return "";
        }
        _pending.Append(text);
        var sequence = _pending.ToString();
        // As Ollama: the first stop sequence of the list that occurs, cut at its first occurrence.
        foreach (var stop in _stops)
        {
            var at = sequence.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                Stopped = true;
                StoppedBy = stop;
                _pending.Clear();
                return sequence[..at];
            }
        }
        var held = HeldBack(sequence);
        _pending.Clear().Append(sequence, sequence.Length - held, held);
        return sequence[..^held];
    }

    /// <summary>Ends the text: what was held back is given out (it never became a stop sequence).</summary>
    public string Flush()
    {
        var rest = _pending.ToString();
        _pending.Clear();
        return Stopped ? "" : rest;
    }

    /// <summary>The length of the longest end of <paramref name="sequence"/> that begins some stop sequence.</summary>
    int HeldBack(string sequence)
    {
        var longest = 0;
        foreach (var stop in _stops)
        {
            for (var n = Math.Min(stop.Length - 1, sequence.Length); n > longest; n--)
            {
                if (sequence.AsSpan(sequence.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    longest = n;
                    break;
                }
            }
        }
        return longest;
    }
}
