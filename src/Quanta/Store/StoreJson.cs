using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Quanta.Templates.Go;

namespace Quanta.Store;

/// <summary>
/// JSON as Ollama writes its manifest, config, params and messages blobs: Go's <c>json.NewEncoder(w).Encode(v)</c>
/// (server/create.go, manifest/manifest.go). Same value, same bytes, so a layer Quanta writes has the digest
/// Ollama's own would have and the two tools share it.
/// </summary>
/// <remarks>
/// System.Text.Json serialises (field order as declared, compact); <see cref="ToGoEncoding"/> then rewrites
/// every string and number the way Go's encoding/json (1.22 and later, encode.go) writes them:
/// <list type="bullet">
/// <item>strings: <c>\"</c> <c>\\</c> <c>\b</c> <c>\f</c> <c>\n</c> <c>\r</c> <c>\t</c>, other control
/// characters as <c>\u00xx</c> (lower-case hex); <c>&lt;</c> <c>&gt;</c> <c>&amp;</c> as <c>\u003c</c>
/// <c>\u003e</c> <c>\u0026</c> (the Encoder's default HTML escaping); U+2028 and U+2029 as <c>\u2028</c>
/// <c>\u2029</c>; an unpaired surrogate (Go: invalid UTF-8) as <c>\ufffd</c>; everything else, non-ASCII
/// included, as raw UTF-8;</item>
/// <item>floating-point numbers: the shortest digits (the same in both), as plain decimals from 1e-6 up to
/// 1e21 and as <c>1e-7</c> / <c>1e+21</c> outside that range;</item>
/// <item>a newline after the value (<c>Encoder.Encode</c> appends one).</item>
/// </list>
/// </remarks>
internal static class StoreJson
{
    public static readonly JsonSerializerOptions Compact = new()
    {
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    static readonly JsonWriterOptions Writer = new()
    {
        Indented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary><paramref name="value"/> as Go's <c>json.Encoder</c> writes it, trailing newline included.</summary>
    public static byte[] Serialize<T>(T value) => ToGoEncoding(JsonSerializer.SerializeToUtf8Bytes(value, Compact));

    /// <summary>Writes with a <see cref="Utf8JsonWriter"/> (field order exactly as written), then as <see cref="Serialize"/>.</summary>
    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Writer))
        {
            write(writer);
        }
        return ToGoEncoding(buffer.ToArray());
    }

    /// <summary>
    /// Rewrites one compact JSON value (well-formed, as System.Text.Json writes it) into Go's encoding of the
    /// same value, followed by a newline.
    /// </summary>
    public static byte[] ToGoEncoding(ReadOnlySpan<byte> json)
    {
        var output = new List<byte>(json.Length + 16);
        var i = 0;
        while (i < json.Length)
        {
            var b = json[i];
            if (b == '"')
            {
                i = CopyString(json, i, output);
            }
            else if (b == '-' || char.IsAsciiDigit((char)b))
            {
                var end = i;
                while (end < json.Length && json[end] is (byte)'-' or (byte)'+' or (byte)'.' or (byte)'e' or (byte)'E' or (>= (byte)'0' and <= (byte)'9'))
                {
                    end++;
                }
                output.AddRange(Encoding.ASCII.GetBytes(GoJson.Number(Encoding.ASCII.GetString(json[i..end]))));
                i = end;
            }
            else
            {
                output.Add(b);
                i++;
            }
        }
        output.Add((byte)'\n');
        return [.. output];
    }

    /// <summary>Decodes the string token starting at <paramref name="start"/> and appends Go's encoding of it; returns the index after it.</summary>
    static int CopyString(ReadOnlySpan<byte> json, int start, List<byte> output)
    {
        var text = new StringBuilder();
        var raw = new List<byte>();
        var i = start + 1;
        while (json[i] != '"')
        {
            if (json[i] != '\\')
            {
                raw.Add(json[i++]);
                continue;
            }
            FlushRaw();
            var escape = json[i + 1];
            i += 2;
            switch (escape)
            {
                case (byte)'b': text.Append('\b'); break;
                case (byte)'f': text.Append('\f'); break;
                case (byte)'n': text.Append('\n'); break;
                case (byte)'r': text.Append('\r'); break;
                case (byte)'t': text.Append('\t'); break;
                case (byte)'u':
                    text.Append((char)int.Parse(Encoding.ASCII.GetString(json.Slice(i, 4)), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                default: text.Append((char)escape); break; // \" \\ \/
            }
        }
        FlushRaw();
        var escaped = new StringBuilder();
        GoJson.AppendString(escaped, text.ToString());
        output.AddRange(Encoding.UTF8.GetBytes(escaped.ToString()));
        return i + 1;

        void FlushRaw()
        {
            if (raw.Count > 0)
            {
                text.Append(Encoding.UTF8.GetString([.. raw]));
                raw.Clear();
            }
        }
    }
}
