using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta logits -m MODEL (-f TEXT | --tokens FILE.json) -o OUT.f32 [--tokens-out TOKENS.json] [-t N]</c>:
/// evaluates the prompt in one batch and writes the logits of every position as float32
/// <c>[n_tokens][n_vocab]</c>, and the token ids as <c>{"n_vocab": N, "tokens": [...]}</c> — the layout of
/// llama.cpp's golden runtime files, so the two can be compared number by number. A text is tokenized as the
/// golden files were made: BOS (and EOS) as the vocabulary says, special tokens not parsed, the file read byte
/// for byte.
/// </summary>
internal static class LogitsCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Option<string>("--model", "-m") { Description = "The GGUF model", Required = true };
        var file = new Option<string>("--file", "-f") { Description = "The prompt text, read byte for byte and tokenized with the model's vocabulary" };
        var tokens = new Option<string>("--tokens") { Description = "Token ids to evaluate instead of a text: a JSON file {\"tokens\": [1, 2, ...]}" };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the logits (float32, [n_tokens][n_vocab])", Required = true };
        var tokensOut = new Option<string>("--tokens-out") { Description = "Also write the token ids as JSON {\"n_vocab\": N, \"tokens\": [...]}" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (default: all processors)" };
        var batches = new BatchOptions();
        var command = new Command("logits", "Evaluate a prompt in one batch and write the logits of every position")
        {
            model, file, tokens, output, tokensOut, threads,
        };
        batches.AddTo(command);
        var cacheTypes = new CacheTypeOptions();
        cacheTypes.AddTo(command);
        command.Validators.Add(result =>
        {
            if ((result.GetResult(file) is not null) == (result.GetResult(tokens) is not null))
            {
                result.AddError("give the prompt with -f TEXT or its token ids with --tokens FILE.json (one of the two)");
            }
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            Run(
                parseResult.GetRequiredValue(model),
                parseResult.GetValue(file),
                parseResult.GetValue(tokens),
                parseResult.GetRequiredValue(output),
                parseResult.GetValue(tokensOut),
                parseResult.GetValue(threads) is > 0 and var n ? n : Environment.ProcessorCount,
                cancellationToken,
                cacheTypes.Read(parseResult),
                batches.PieceSize(parseResult));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>Evaluates the text at <paramref name="textPath"/>, or else the token ids at <paramref name="tokensPath"/>.</summary>
    internal static void Run(string modelPath, string? textPath, string? tokensPath, string outputPath, string? tokensOutPath, int threads, CancellationToken cancellationToken, KvCacheTypes? cacheTypes = null, int microBatch = 512)
    {
        var ids = textPath is null ? ReadTokens(tokensPath ?? throw new ArgumentNullException(nameof(tokensPath))) : null;
        InputFile.Require(modelPath, ".gguf file");
        using var file = GgufFile.Open(modelPath);
        using var model = LlamaModel.Load(file, threads, null, cacheTypes ?? KvCacheTypes.Default);
        model.MicroBatch = microBatch;
        if (textPath is not null)
        {
            InputFile.Require(textPath);
            var text = File.ReadAllBytes(textPath);
            ids = new Tokenizer(Vocabulary.Load(file)).Tokenize(text, addSpecial: true, parseSpecial: false);
            if (ids.Length == 0)
            {
                throw new UserErrorException($"{textPath}: the text gives no tokens");
            }
        }
        ids ??= [];
        if (ids.FirstOrDefault(id => id >= model.VocabularySize, -1) is var outside and >= 0)
        {
            throw new UserErrorException($"{textPath ?? tokensPath}: token {outside} is outside the model's vocabulary (0..{model.VocabularySize - 1})");
        }
        var logits = new float[(long)ids.Length * model.VocabularySize];
        model.Evaluate(ids, logits, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        WriteAtomically(outputPath, stream => stream.Write(MemoryMarshal.AsBytes(logits.AsSpan())));
        if (tokensOutPath is not null)
        {
            WriteAtomically(tokensOutPath, stream =>
            {
                using var writer = new Utf8JsonWriter(stream);
                writer.WriteStartObject();
                writer.WriteNumber("n_vocab", model.VocabularySize);
                writer.WriteStartArray("tokens");
                foreach (var id in ids)
                {
                    writer.WriteNumberValue(id);
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            });
        }
    }

    static int[] ReadTokens(string path)
    {
        InputFile.Require(path);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("tokens", out var list)
                || list.ValueKind != JsonValueKind.Array)
            {
                throw new UserErrorException($"{path}: expected a JSON object with a \"tokens\" array");
            }
            var ids = list.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out var id) && id >= 0
                ? id
                : throw new UserErrorException($"{path}: token {t} is not a non-negative integer")).ToArray();
            return ids.Length > 0 ? ids : throw new UserErrorException($"{path}: the \"tokens\" array is empty");
        }
        catch (JsonException e)
        {
            throw new UserErrorException($"{path}: not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>Writes through a temporary file beside the target, renamed only when complete.</summary>
    static void WriteAtomically(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
