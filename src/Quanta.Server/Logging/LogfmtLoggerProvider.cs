using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Quanta.Server.Logging;

/// <summary>
/// Log lines as Ollama's server writes them (Go's slog text handler): <c>time=… level=INFO source=… msg="…"</c> followed
/// by the event's fields as <c>key=value</c>, one line per event, on one writer (stderr for <c>quanta serve</c>), so
/// that tools that read logfmt can filter on <c>status=</c>, <c>path=</c> and the rest. An exception adds its type and
/// message as <c>error=</c>; its stack trace follows only when asked for (<c>QUANTA_DEBUG</c>), so that a log stays one line
/// per event.
/// </summary>
public sealed class LogfmtLoggerProvider(TextWriter writer, bool stackTraces = false) : ILoggerProvider
{
    readonly Lock _lock = new();

    bool StackTraces => stackTraces;

    public ILogger CreateLogger(string categoryName) => new LogfmtLogger(this, categoryName);

    public void Dispose()
    {
    }

    void Write(string line)
    {
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    sealed class LogfmtLogger(LogfmtLoggerProvider provider, string category) : ILogger
    {
        // "Quanta.Server.Http.RequestLogMiddleware" → "RequestLogMiddleware": the class is what a reader needs.
        readonly string _source = category[(category.LastIndexOf('.') + 1)..];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            var sb = new StringBuilder();
            sb.Append("time=").Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            sb.Append(" level=").Append(Level(logLevel));
            sb.Append(" source=").Append(_source);
            Pair(sb, "msg", formatter(state, exception));
            if (state is IReadOnlyList<KeyValuePair<string, object?>> fields)
            {
                foreach (var (key, value) in fields)
                {
                    if (key != "{OriginalFormat}")
                    {
                        Pair(sb, ToSnakeCase(key), Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
                    }
                }
            }
            if (exception is not null)
            {
                Pair(sb, "error", $"{exception.GetType().Name}: {exception.Message}");
                if (provider.StackTraces)
                {
                    sb.Append('\n').Append(exception);
                }
            }
            provider.Write(sb.ToString());
        }

        static string Level(LogLevel level) => level switch
        {
            LogLevel.Trace or LogLevel.Debug => "DEBUG",
            LogLevel.Information => "INFO",
            LogLevel.Warning => "WARN",
            _ => "ERROR",
        };

        /// <summary>A value is quoted (Go's strconv.Quote) when empty or holding a space, quote, equals sign or control character.</summary>
        static void Pair(StringBuilder sb, string key, string value)
        {
            sb.Append(' ').Append(key).Append('=');
            if (value.Length > 0 && !value.Any(c => c <= ' ' || c is '"' or '=' or '\\'))
            {
                sb.Append(value);
                return;
            }
            sb.Append('"');
            foreach (var c in value)
            {
                sb.Append(c switch
                {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    < ' ' => $"\\x{(int)c:x2}",
                    _ => c.ToString(),
                });
            }
            sb.Append('"');
        }

        static string ToSnakeCase(string name)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < name.Length; i++)
            {
                if (char.IsUpper(name[i]) && i > 0)
                {
                    sb.Append('_');
                }
                sb.Append(char.ToLowerInvariant(name[i]));
            }
            return sb.ToString();
        }
    }
}
