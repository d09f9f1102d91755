using System.CommandLine;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands.Gguf;

/// <summary>
/// <c>quanta gguf split IN (--max-size 4G | --max-tensors N) [OUT_PREFIX]</c>: llama.cpp's gguf-split layout,
/// <c>PREFIX-00001-of-0000N.gguf</c>, the first shard holding all metadata.
/// </summary>
internal static class GgufSplitCommand
{
    public static Command Create(CliContext context)
    {
        var input = CliArguments.InputPath("IN", "The GGUF file to split");
        var prefix = new Argument<string?>("OUT_PREFIX") { Description = "Shard name prefix (default: IN without .gguf)", Arity = ArgumentArity.ZeroOrOne };
        var maxSize = new Option<string>("--max-size", "--split-max-size") { Description = "At most this many tensor bytes per shard (e.g. 4G, 500M; 10^9 and 10^6 as gguf-split counts)", HelpName = "N(M|G)" };
        var maxTensors = new Option<int?>("--max-tensors", "--split-max-tensors") { Description = $"At most N tensors per shard (gguf-split's default: {GgufSplitOptions.DefaultMaxTensors})", HelpName = "N" };
        var noTensorFirst = new Option<bool>("--no-tensor-first-split") { Description = "The first shard holds only the metadata" };
        var command = new Command("split", "Split a GGUF file into shards, as llama.cpp's gguf-split does")
        {
            input, prefix, maxSize, maxTensors, noTensorFirst,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var path = parseResult.GetRequiredValue(input);
            var size = parseResult.GetValue(maxSize);
            var tensors = parseResult.GetValue(maxTensors);
            if (size is not null && tensors is not null)
            {
                throw new UserErrorException("give --max-size or --max-tensors, not both");
            }
            if (tensors is <= 0)
            {
                throw new UserErrorException($"--max-tensors: {tensors} is not a positive number");
            }
            var options = new GgufSplitOptions
            {
                MaxBytesPerShard = size is null ? null : QuantizeCommand.ParseSize(size),
                MaxTensorsPerShard = tensors,
                NoTensorsInFirstShard = parseResult.GetValue(noTensorFirst),
                Writer = new GgufWriterOptions { CancellationToken = cancellationToken },
            };
            using var file = GgufCommand.Open(path);
            if (file.IsSplit)
            {
                throw new UserErrorException($"{path}: already a split set; merge it first with 'quanta gguf merge'");
            }
            var outPrefix = parseResult.GetValue(prefix) ?? path;
            var shards = GgufCommand.UserErrors(() => GgufSplit.Split(file, outPrefix, options));
            foreach (var shard in shards)
            {
                context.Out.WriteLine(shard);
            }
            context.Error.WriteLine($"{path}: {file.Tensors.Count} tensors written to {shards.Count} shard(s)");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
