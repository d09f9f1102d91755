using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Quanta.Inference.Sampling;
using Quanta.Inference.Tokenizers;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta complete -m MODEL (-p TEXT | -f FILE) [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
/// [--repeat-penalty R] [--seed S] [-c CTX] [-t N] [--ids]</c>: plain completion as llama-cli runs it without a
/// conversation. The prompt is tokenized as llama-cli does (BOS as the vocabulary says, special tokens parsed),
/// evaluated in one batch, and accepted into the sampler chain; then each sampled token is evaluated on its own
/// through the KV cache. Text is streamed as tokens arrive (a character split across tokens waits for its last
/// byte) and stops at an end-of-generation token; <c>--ids</c> prints instead one line of JSON with the prompt's
/// and the <c>-n</c> generated token ids, not stopped at end of generation.
/// </summary>
internal static class CompleteCommand
{
    /// <summary>Without <c>-c</c>, the model's training context, but no more than this many positions (KV memory).</summary>
    const int DefaultContextCap = 4096;

    public static Command Create(CliContext context)
    {
        var model = new Option<string>("--model", "-m") { Description = "The GGUF model", Required = true };
        var prompt = new Option<string>("--prompt", "-p") { Description = @"The prompt (escapes such as \n are processed)" };
        var file = new Option<string>("--file", "-f") { Description = "Read the prompt from this file, byte for byte" };
        var predict = new Option<int>("--n-predict", "-n") { Description = "Tokens to generate (-1: until end of generation or a full context)", DefaultValueFactory = _ => -1 };
        var temperature = new Option<float>("--temp") { Description = "Temperature (0: greedy)", DefaultValueFactory = _ => SamplingParameters.LlamaCli.Temperature };
        var topK = new Option<int>("--top-k") { Description = "Keep the K most likely tokens (0: all)", DefaultValueFactory = _ => SamplingParameters.LlamaCli.TopK };
        var topP = new Option<float>("--top-p") { Description = "Keep the most likely tokens up to this total probability (1: all)", DefaultValueFactory = _ => SamplingParameters.LlamaCli.TopP };
        var minP = new Option<float>("--min-p") { Description = "Drop tokens less likely than this fraction of the most likely (0: none)", DefaultValueFactory = _ => SamplingParameters.LlamaCli.MinP };
        var repeatPenalty = new Option<float>("--repeat-penalty") { Description = "Penalty for tokens among the last 64 (1: none)", DefaultValueFactory = _ => SamplingParameters.LlamaCli.RepeatPenalty };
        var seed = new Option<long>("--seed", "-s") { Description = "Random seed (-1: a random one)", DefaultValueFactory = _ => -1 };
        var contextSize = new Option<int>("--ctx-size", "-c") { Description = $"Context size in tokens (0: the model's, at most {DefaultContextCap})" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (default: all processors)" };
        var batches = new BatchOptions();
        var ids = new Option<bool>("--ids") { Description = "Print one line of JSON {\"prompt_tokens\": [...], \"generated\": [...]} instead of text; -n tokens, not stopped at end of generation" };
        var command = new Command("complete", "Continue a prompt with a model, as llama-cli does")
        {
            model, prompt, file, predict, temperature, topK, topP, minP, repeatPenalty, seed, contextSize, threads, ids,
        };
        batches.AddTo(command);
        var cacheTypes = new CacheTypeOptions();
        cacheTypes.AddTo(command);
        command.Validators.Add(result =>
        {
            if ((result.GetResult(prompt) is not null) == (result.GetResult(file) is not null))
            {
                result.AddError("give the prompt with -p TEXT or -f FILE (one of the two)");
            }
            Check(result, predict, n => n >= -1, "-n must be -1 (no limit) or a number of tokens");
            Check(result, temperature, float.IsFinite, "--temp must be a number");
            Check(result, topP, p => p is >= 0 and <= 1, "--top-p must be between 0 and 1");
            Check(result, minP, p => p is >= 0 and <= 1, "--min-p must be between 0 and 1");
            Check(result, repeatPenalty, r => r > 0 && float.IsFinite(r), "--repeat-penalty must be a positive number");
            Check(result, seed, s => s is >= -1 and <= uint.MaxValue, $"--seed must be -1 (random) or between 0 and {uint.MaxValue}");
            Check(result, contextSize, c => c >= 0, "-c must be 0 (the model's) or a number of tokens");
            Check(result, threads, t => t >= 0, "-t must be a number of threads");
        });
        command.SetAction((parseResult, cancellationToken) =>
        {
            var s = parseResult.GetValue(seed);
            var options = new Options(
                parseResult.GetRequiredValue(model),
                parseResult.GetValue(prompt),
                parseResult.GetValue(file),
                parseResult.GetValue(predict),
                new SamplingParameters
                {
                    Temperature = parseResult.GetValue(temperature),
                    TopK = parseResult.GetValue(topK),
                    TopP = parseResult.GetValue(topP),
                    MinP = parseResult.GetValue(minP),
                    RepeatPenalty = parseResult.GetValue(repeatPenalty),
                    Seed = s < 0 ? SamplingParameters.RandomSeed : (uint)s,
                },
                parseResult.GetValue(contextSize),
                parseResult.GetValue(threads) is > 0 and var n ? n : Environment.ProcessorCount,
                parseResult.GetValue(ids))
            {
                MicroBatch = batches.PieceSize(parseResult),
                CacheTypes = cacheTypes.Read(parseResult),
            };
            Run(context, options, cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>Adds <paramref name="message"/> when the option was given a value outside its range.</summary>
    static void Check<T>(CommandResult result, Option<T> option, Func<T, bool> valid, string message)
    {
        if (result.GetResult(option) is not { Implicit: false } given)
        {
            return;
        }
        T value;
        try
        {
            value = given.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            // Not a number at all: System.CommandLine reports that parse error itself.
            return;
        }
        if (!valid(value))
        {
            result.AddError(message);
        }
    }

    internal sealed record Options(
        string Model, string? Prompt, string? File, int Predict, SamplingParameters Sampling, int ContextSize, int Threads, bool Ids)
    {
        /// <summary>The prompt is evaluated in pieces of this many tokens (the smaller of -b and -ub).</summary>
        public int MicroBatch { get; init; } = 512;

        /// <summary>The KV cache's types (<c>-ctk/-ctv</c>).</summary>
        public KvCacheTypes CacheTypes { get; init; } = KvCacheTypes.Default;
    }

    internal static void Run(CliContext context, Options options, CancellationToken cancellationToken)
    {
        InputFile.Require(options.Model, ".gguf file");
        byte[] text;
        if (options.File is { } path)
        {
            InputFile.Require(path);
            text = File.ReadAllBytes(path);
        }
        else
        {
            // llama-cli processes escapes in the prompt by default (--no-escape turns it off there).
            text = TokenizeCommand.ProcessEscapes(Encoding.UTF8.GetBytes(options.Prompt ?? ""));
        }

        using var gguf = GgufFile.Open(options.Model);
        using var model = LlamaModel.Load(gguf, options.Threads, null, options.CacheTypes);
        model.MicroBatch = options.MicroBatch;
        var tokenizer = new Tokenizer(Vocabulary.Load(gguf));
        var vocabulary = tokenizer.Vocabulary;
        if (vocabulary.Count > model.VocabularySize)
        {
            throw new UserErrorException($"{options.Model}: the vocabulary has {vocabulary.Count} tokens but the model only {model.VocabularySize} rows of embeddings");
        }
        var promptTokens = Tokenize(tokenizer, text);
        var contextSize = options.ContextSize > 0
            ? options.ContextSize
            : Math.Min(model.Hyperparameters.ContextLength > 0 ? model.Hyperparameters.ContextLength : DefaultContextCap, DefaultContextCap);
        if (promptTokens.Length > contextSize)
        {
            throw new UserErrorException($"the prompt is {promptTokens.Length} tokens, longer than the context of {contextSize} (-c)");
        }

        var chain = SamplerChainBuilder.Build(options.Sampling, model.VocabularySize, contextSize);
        // llama-cli accepts the prompt into the chain (without grammar), so the repeat penalty sees it.
        foreach (var token in promptTokens)
        {
            chain.Accept(token);
        }

        var vocabularySize = model.VocabularySize;
        var logits = new float[(long)promptTokens.Length * vocabularySize];
        model.Evaluate(promptTokens, position: 0, contextSize, logits, cancellationToken);
        var last = logits.AsMemory((promptTokens.Length - 1) * vocabularySize, vocabularySize);
        var next = new float[vocabularySize];
        var limit = options.Predict < 0 ? int.MaxValue : options.Predict;
        var generated = new List<int>();
        var detokenizer = new StreamingDetokenizer(tokenizer);
        var position = promptTokens.Length;
        var single = new int[1];
        while (generated.Count < limit)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var token = chain.Sample(last.Span);
            if (!options.Ids && vocabulary.EndOfGeneration.Contains(token))
            {
                break;
            }
            generated.Add(token);
            if (!options.Ids)
            {
                context.Out.Write(detokenizer.Push(token));
                context.Out.Flush();
            }
            if (generated.Count == limit || position == contextSize)
            {
                // Every position of the context holds a token: llama-cli would shift the context; a plain
                // completion stops here.
                break;
            }
            single[0] = token;
            model.Evaluate(single, position, contextSize, next, cancellationToken);
            position++;
            last = next;
        }

        if (options.Ids)
        {
            context.Out.WriteLine($"{{\"prompt_tokens\": [{string.Join(", ", promptTokens)}], \"generated\": [{string.Join(", ", generated)}]}}");
        }
        else
        {
            context.Out.Write(detokenizer.Flush());
            if (context.OutIsTerminal)
            {
                context.Out.WriteLine();
            }
        }
        context.Out.Flush();
    }

    /// <summary>
    /// As llama-cli (<c>common_tokenize(ctx, prompt, true, true)</c>): BOS and EOS as the vocabulary says, special
    /// tokens parsed, and an empty prompt is the BOS token alone.
    /// </summary>
    static int[] Tokenize(Tokenizer tokenizer, byte[] text)
    {
        var vocabulary = tokenizer.Vocabulary;
        var tokens = tokenizer.Tokenize(text, addSpecial: true, parseSpecial: true);
        if (tokens.Length == 0 && vocabulary.AddBos && vocabulary.Bos != Vocabulary.NoToken)
        {
            tokens = [vocabulary.Bos];
        }
        return tokens.Length > 0 ? tokens : throw new UserErrorException("the prompt is empty, and the vocabulary adds no BOS token to start from");
    }
}
