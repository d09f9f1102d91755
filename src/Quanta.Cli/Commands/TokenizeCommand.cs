using System.CommandLine;
using System.Globalization;
using System.Text;
using Quanta.Formats.Gguf;
using Quanta.Inference.Tokenizers;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta tokenize -m MODEL (-p TEXT | -f FILE | --stdin) [--ids] [--show-count] [--no-bos] [--no-escape]
/// [--no-parse-special] [--log-disable]</c>: llama-tokenize's options and output, with llama.cpp's token ids.
/// Any GGUF with <c>tokenizer.*</c> keys works, vocabulary-only files included.
/// </summary>
internal static class TokenizeCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Option<string>("--model", "-m") { Description = "The GGUF file whose vocabulary to use", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = "Tokenize this text" };
        var file = new Option<string>("--file", "-f") { Description = "Tokenize this file's bytes, as they are" };
        var stdin = new Option<bool>("--stdin") { Description = "Tokenize standard input" };
        var ids = new Option<bool>("--ids") { Description = "Print only the token ids, as [1, 2, 3]" };
        var showCount = new Option<bool>("--show-count") { Description = "Print the number of tokens at the end" };
        var noBos = new Option<bool>("--no-bos") { Description = "Do not add BOS (or EOS) even if the vocabulary asks for it" };
        var noEscape = new Option<bool>("--no-escape") { Description = @"Do not process escape sequences (\n, \t, \\, \xHH ...)" };
        var noParseSpecial = new Option<bool>("--no-parse-special") { Description = "Tokenize special tokens' text as ordinary text" };
        var logDisable = new Option<bool>("--log-disable") { Description = "Accepted for llama-tokenize compatibility (Quanta logs nothing here)" };
        var command = new Command("tokenize", "Tokenize text with a model's vocabulary, as llama-tokenize does")
        {
            model, prompt, file, stdin, ids, showCount, noBos, noEscape, noParseSpecial, logDisable,
        };
        command.Validators.Add(result =>
        {
            var sources = (result.GetResult(prompt) is { Implicit: false } ? 1 : 0)
                + (result.GetResult(file) is { Implicit: false } ? 1 : 0)
                + (result.GetValue(stdin) ? 1 : 0);
            if (sources > 1)
            {
                result.AddError("Multiple prompt sources specified (--stdin, --file, --prompt are mutually exclusive)");
            }
            else if (sources == 0)
            {
                result.AddError("Prompt source is required (use --stdin, --file, or --prompt)");
            }
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            var options = new Options(
                parseResult.GetRequiredValue(model), parseResult.GetValue(prompt), parseResult.GetValue(file),
                parseResult.GetValue(stdin), parseResult.GetValue(ids), parseResult.GetValue(showCount),
                parseResult.GetValue(noBos), parseResult.GetValue(noEscape), parseResult.GetValue(noParseSpecial));
            Run(context, options, cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    internal sealed record Options(
        string Model, string? Prompt, string? File, bool Stdin, bool Ids, bool ShowCount, bool NoBos, bool NoEscape, bool NoParseSpecial);

    static void Run(CliContext context, Options options, CancellationToken cancellationToken)
    {
        InputFile.Require(options.Model, ".gguf file");
        var text = ReadPrompt(context, options);
        if (!options.NoEscape)
        {
            text = ProcessEscapes(text);
        }
        cancellationToken.ThrowIfCancellationRequested();

        Tokenizer tokenizer;
        using (var gguf = GgufFile.Open(options.Model))
        {
            tokenizer = new Tokenizer(Vocabulary.Load(gguf));
        }
        // llama-tokenize passes add_special = add_bos: a vocabulary that adds no BOS gets no EOS either.
        var addSpecial = tokenizer.Vocabulary.AddBos && !options.NoBos;
        var tokens = tokenizer.Tokenize(text, addSpecial, parseSpecial: !options.NoParseSpecial);
        cancellationToken.ThrowIfCancellationRequested();

        var output = new StringBuilder();
        if (options.Ids)
        {
            output.Append('[').AppendJoin(", ", tokens).Append("]\n");
        }
        else
        {
            foreach (var token in tokens)
            {
                output.Append(token.ToString(CultureInfo.InvariantCulture).PadLeft(6)).Append(" -> '");
                AppendPiece(output, tokenizer.TokenToPiece(token));
            }
        }
        if (options.ShowCount)
        {
            output.Append("Total number of tokens: ").Append(tokens.Length.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        context.Out.Write(output.ToString());
    }

    /// <summary>
    /// A piece that is whole UTF-8 is printed as text. One that is not (a byte token, half of a character) cannot
    /// pass through a text writer unchanged, so it is printed as llama-tokenize prints it on Windows: its bytes
    /// in hex and "(UTF-8 decode failure)".
    /// </summary>
    static void AppendPiece(StringBuilder output, ReadOnlySpan<byte> piece)
    {
        if (System.Text.Unicode.Utf8.IsValid(piece))
        {
            output.Append(Encoding.UTF8.GetString(piece)).Append("'\n");
            return;
        }
        output.Append('<');
        for (var i = 0; i < piece.Length; i++)
        {
            output.Append(i > 0 ? " " : "").Append(piece[i].ToString("x2", CultureInfo.InvariantCulture));
        }
        output.Append(">' (UTF-8 decode failure)\n");
    }

    static byte[] ReadPrompt(CliContext context, Options options)
    {
        if (options.File is { } path)
        {
            InputFile.Require(path);
            return System.IO.File.ReadAllBytes(path);
        }
        if (options.Stdin)
        {
            using var input = context.OpenStandardInput();
            using var buffer = new MemoryStream();
            input.CopyTo(buffer);
            return buffer.ToArray();
        }
        return Encoding.UTF8.GetBytes(options.Prompt ?? "");
    }

    /// <summary>
    /// llama.cpp's <c>string_process_escapes</c>: \n \r \t \' \" \\ and \xHH; any other backslash sequence is kept
    /// as it is.
    /// </summary>
    internal static byte[] ProcessEscapes(byte[] input)
    {
        var output = new List<byte>(input.Length);
        for (var i = 0; i < input.Length; i++)
        {
            if (input[i] != '\\' || i + 1 >= input.Length)
            {
                output.Add(input[i]);
                continue;
            }
            var c = input[++i];
            switch (c)
            {
                case (byte)'n': output.Add((byte)'\n'); continue;
                case (byte)'r': output.Add((byte)'\r'); continue;
                case (byte)'t': output.Add((byte)'\t'); continue;
                case (byte)'\'': output.Add((byte)'\''); continue;
                case (byte)'"': output.Add((byte)'"'); continue;
                case (byte)'\\': output.Add((byte)'\\'); continue;
                case (byte)'x' when i + 2 < input.Length && TryParseHexByte(input[i + 1], input[i + 2], out var value):
                    i += 2;
                    output.Add(value);
                    continue;
                default:
                    output.Add((byte)'\\');
                    output.Add(c);
                    continue;
            }
        }
        return [.. output];
    }

    /// <summary>strtol(x, &amp;end, 16) consuming exactly two characters.</summary>
    static bool TryParseHexByte(byte high, byte low, out byte value)
    {
        static int Digit(byte b) => b switch
        {
            >= (byte)'0' and <= (byte)'9' => b - '0',
            >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
            >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
            _ => -1,
        };
        value = 0;
        var h = Digit(high);
        var l = Digit(low);
        if (l < 0)
        {
            return false;
        }
        if (h >= 0)
        {
            value = (byte)(h * 16 + l);
            return true;
        }
        // strtol skips leading whitespace and takes a sign before the digits.
        if (high is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r' or (byte)'+')
        {
            value = (byte)l;
            return true;
        }
        if (high == '-')
        {
            value = (byte)-l;
            return true;
        }
        return false;
    }
}
