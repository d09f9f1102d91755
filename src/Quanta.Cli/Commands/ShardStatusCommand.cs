using System.CommandLine;
using Quanta.Formats.Gguf;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta shard-status PREFIX [--shards N]</c>: one line per shard of a set written by a batch job's tasks
/// (<c>--shard I/N</c>), its file name and <c>ok</c>, <c>missing</c> or <c>incomplete</c>; exit 0 only when
/// every shard is ok, so a pipeline can wait on it before loading or uploading the set.
/// </summary>
internal static class ShardStatusCommand
{
    public static Command Create(CliContext context)
    {
        var prefix = CliArguments.InputPath("PREFIX", "The set: its prefix (out/model), the output name given to quantize (out/model.gguf) or any shard's file name");
        var shards = new Option<int?>("--shards")
        {
            Description = "The number of shards expected (default: from the shard files present); needed to list a set none of whose files exist yet",
            HelpName = "N",
        };
        var command = new Command("shard-status", "Check the shards of a split set: ok, missing or incomplete (header and size checked)") { prefix, shards };
        command.SetAction((parseResult, _) =>
        {
            IReadOnlyList<ShardCheck> checks;
            try
            {
                checks = GgufShardStatus.Check(parseResult.GetRequiredValue(prefix), parseResult.GetValue(shards));
            }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException)
            {
                throw new UserErrorException(e.Message.Split(" (Parameter", 2)[0], e);
            }
            var width = checks.Max(c => Path.GetFileName(c.Path).Length);
            foreach (var check in checks)
            {
                var state = check.State.ToString().ToLowerInvariant();
                context.Out.WriteLine($"{Path.GetFileName(check.Path).PadRight(width)}  {state}{(check.Problem is null ? "" : ": " + check.Problem)}");
            }
            var bad = checks.Count(c => c.State != ShardState.Ok);
            if (bad > 0)
            {
                throw new UserErrorException($"{bad} of {checks.Count} shards are not complete ({checks.Count(c => c.State == ShardState.Missing)} missing, {checks.Count(c => c.State == ShardState.Incomplete)} incomplete)");
            }
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
