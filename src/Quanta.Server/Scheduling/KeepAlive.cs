using System.Globalization;
using System.Text.Json;

namespace Quanta.Server.Scheduling;

/// <summary>
/// How long a model stays loaded after its last request, as Ollama reads it (api/types.go, <c>Duration.UnmarshalJSON</c>;
/// envconfig <c>KeepAlive</c>): a number of seconds or a Go duration (<c>"5m"</c>, <c>"1h30m"</c>, <c>"0"</c>); zero
/// unloads the model as soon as it is idle; a negative value keeps it loaded for good
/// (<see cref="Timeout.InfiniteTimeSpan"/>).
/// </summary>
public static class KeepAlive
{
    /// <summary>Ollama's default.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromMinutes(5);

    /// <summary>The request's <c>keep_alive</c>, or null when absent or JSON null.</summary>
    /// <exception cref="FormatException">Not a number or a Go duration.</exception>
    public static TimeSpan? FromJson(JsonElement? value)
    {
        if (value is not { } v || v.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return null;
        }
        return v.ValueKind switch
        {
            JsonValueKind.Number => Seconds(v.GetDouble()),
            JsonValueKind.String => Forever(ParseGoDuration(v.GetString()!)),
            _ => throw new FormatException($"Unsupported type: '{v.ValueKind.ToString().ToLowerInvariant()}'"),
        };
    }

    /// <summary><c>QUANTA_KEEP_ALIVE</c>: a Go duration, or a whole number of seconds; unset or empty is the default.</summary>
    /// <exception cref="FormatException">Neither.</exception>
    public static TimeSpan FromEnvironment(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Default;
        }
        value = value.Trim().Trim('"', '\'');
        if (TryParseGoDuration(value, out var duration))
        {
            return Forever(duration);
        }
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            return Seconds(seconds);
        }
        throw new FormatException($"QUANTA_KEEP_ALIVE: invalid duration \"{value}\" (a number of seconds or a duration such as 5m, 1h, -1)");
    }

    static TimeSpan Seconds(double seconds) => seconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(Math.Min(seconds, TimeSpan.MaxValue.TotalSeconds / 2));

    static TimeSpan Forever(TimeSpan duration) => duration < TimeSpan.Zero ? Timeout.InfiniteTimeSpan : duration;

    /// <summary>Go's <c>time.ParseDuration</c>.</summary>
    /// <exception cref="FormatException">Go's message.</exception>
    public static TimeSpan ParseGoDuration(string text) =>
        TryParseGoDuration(text, out var duration) ? duration : throw new FormatException($"time: invalid duration \"{text}\"");

    static bool TryParseGoDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var s = text.AsSpan();
        var negative = false;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        if (s.SequenceEqual("0"))
        {
            return true;
        }
        if (s.IsEmpty)
        {
            return false;
        }
        double nanoseconds = 0;
        while (!s.IsEmpty)
        {
            var digits = 0;
            while (digits < s.Length && (char.IsAsciiDigit(s[digits]) || s[digits] == '.'))
            {
                digits++;
            }
            if (digits == 0 || !double.TryParse(s[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }
            s = s[digits..];
            var unitLength = 0;
            while (unitLength < s.Length && !char.IsAsciiDigit(s[unitLength]) && s[unitLength] != '.')
            {
                unitLength++;
            }
            double? unit = s[..unitLength] switch
            {
                "ns" => 1,
                "us" or "µs" or "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                _ => null,
            };
            if (unit is null)
            {
                return false;
            }
            nanoseconds += number * unit.Value;
            s = s[unitLength..];
        }
        duration = TimeSpan.FromTicks((long)Math.Min(nanoseconds / 100, TimeSpan.MaxValue.Ticks / 2)) * (negative ? -1 : 1);
        return true;
    }
}
