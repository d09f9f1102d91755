using System.Text;

namespace Quanta.Store;

/// <summary>
/// A parsed Modelfile: its instructions in order, plus the views <c>create</c> needs. Parameters are typed
/// and checked here, so a Modelfile that parses is one that can be created from (files aside).
/// </summary>
public sealed class Modelfile
{
    Modelfile(IReadOnlyList<ModelfileInstruction> instructions, ModelParameters parameters, IReadOnlyList<string> warnings)
    {
        Instructions = instructions;
        Parameters = parameters;
        Warnings = warnings;
    }

    public IReadOnlyList<ModelfileInstruction> Instructions { get; }

    /// <summary>The PARAMETER lines, typed; deprecated names are left out (see <see cref="Warnings"/>).</summary>
    public ModelParameters Parameters { get; }

    /// <summary>Ollama's warnings, e.g. <c>parameter mirostat is deprecated</c>.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Every FROM value, in order: the model, then (for a multimodal model) its projector.</summary>
    public IReadOnlyList<string> From => Values(ModelfileCommand.From);

    public IReadOnlyList<string> Adapters => Values(ModelfileCommand.Adapter);

    public string? Draft => Last(ModelfileCommand.Draft);

    /// <summary>The last TEMPLATE wins, as in Ollama's request.</summary>
    public string? Template => Last(ModelfileCommand.Template);

    public string? System => Last(ModelfileCommand.System);

    public string? Renderer => Last(ModelfileCommand.Renderer);

    public string? Parser => Last(ModelfileCommand.Parser);

    /// <summary>REQUIRES, normalised as Ollama stores it: without the <c>v</c> prefix.</summary>
    public string? Requires => Last(ModelfileCommand.Requires) is { } r ? (r.StartsWith('v') ? r[1..] : r) : null;

    /// <summary>Each LICENSE becomes its own layer.</summary>
    public IReadOnlyList<string> Licenses => Values(ModelfileCommand.License);

    public IReadOnlyList<(string Role, string Content)> Messages =>
        [.. Instructions.Where(i => i.Command == ModelfileCommand.Message).Select(i => (i.Key!, i.Value))];

    IReadOnlyList<string> Values(ModelfileCommand command) => [.. Instructions.Where(i => i.Command == command).Select(i => i.Value)];

    string? Last(ModelfileCommand command) => Instructions.LastOrDefault(i => i.Command == command)?.Value;

    /// <summary>Reads a Modelfile from disk: UTF-8, or UTF-8/UTF-16 (LE or BE) with a byte-order mark.</summary>
    /// <exception cref="ModelfileException">The file does not follow the grammar; the message has the line.</exception>
    public static Modelfile Load(string path) => Parse(File.ReadAllBytes(path));

    /// <summary>Parses Modelfile bytes, honouring a UTF-8 or UTF-16 byte-order mark (Ollama's BOMOverride).</summary>
    public static Modelfile Parse(ReadOnlySpan<byte> bytes) => Parse(Decode(bytes));

    /// <exception cref="ModelfileException">The text does not follow the grammar; the message has the line.</exception>
    public static Modelfile Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return FromInstructions(ModelfileParser.Parse(text));
    }

    /// <summary>
    /// A Modelfile from instructions built in code (<c>/api/create</c> turns its request into them), checked as a
    /// parsed one is: typed parameters, REQUIRES, a FROM.
    /// </summary>
    /// <exception cref="ModelfileException">A parameter, REQUIRES or FROM is not usable.</exception>
    public static Modelfile FromInstructions(IReadOnlyList<ModelfileInstruction> instructions)
    {
        ArgumentNullException.ThrowIfNull(instructions);
        var parameters = new ModelParameters();
        var warnings = new List<string>();
        foreach (var instruction in instructions)
        {
            switch (instruction.Command)
            {
                case ModelfileCommand.Parameter:
                    if (ModelParameters.Deprecated.Contains(instruction.Key!))
                    {
                        warnings.Add($"parameter {instruction.Key} is deprecated");
                        break;
                    }
                    try
                    {
                        parameters.Add(instruction.Key!, instruction.Value);
                    }
                    catch (FormatException e)
                    {
                        throw new ModelfileException(instruction.Line, e.Message);
                    }
                    break;
                case ModelfileCommand.Requires:
                    if (!Semver.IsValid(instruction.Value.StartsWith('v') ? instruction.Value : "v" + instruction.Value))
                    {
                        throw new ModelfileException(instruction.Line, "requires must be a valid semver (e.g. 0.14.0)");
                    }
                    break;
                case ModelfileCommand.From or ModelfileCommand.Adapter or ModelfileCommand.Draft when instruction.Value.Length == 0:
                    throw new ModelfileException(instruction.Line, ModelfileParser.MissingValueMessage(instruction.Command));
            }
        }
        if (!instructions.Any(i => i.Command == ModelfileCommand.From))
        {
            throw new ModelfileException(0, "no FROM line");
        }
        return new Modelfile(instructions, parameters, warnings);
    }

    /// <summary>The instructions as Modelfile text, one per line, values quoted where needed to read back the same.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var instruction in Instructions)
        {
            sb.Append(instruction).Append('\n');
        }
        return sb.ToString();
    }

    internal static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            return Utf8.GetString(bytes[3..]);
        }
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]))
        {
            return new UnicodeEncoding(bigEndian: false, byteOrderMark: false).GetString(bytes[2..]);
        }
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
        {
            return new UnicodeEncoding(bigEndian: true, byteOrderMark: false).GetString(bytes[2..]);
        }
        return Utf8.GetString(bytes);
    }

    // Invalid bytes become U+FFFD, as Go's decoder makes them.
    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
}
