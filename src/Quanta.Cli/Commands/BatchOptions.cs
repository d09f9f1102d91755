using System.CommandLine;
using System.CommandLine.Parsing;

namespace Quanta.Cli.Commands;

/// <summary>
/// llama.cpp's <c>-b</c> (logical batch: tokens handed to the model at once) and <c>-ub</c> (physical batch: tokens
/// evaluated together), shared by the commands that evaluate prompts. A prompt is evaluated in pieces of the
/// smaller of the two (<see cref="Quanta.Inference.Models.LlamaModel.MicroBatch"/>); the logits do not depend on it.
/// </summary>
internal sealed class BatchOptions
{
    public Option<int> Batch { get; } = new("--batch-size", "-b") { Description = "Logical batch size: tokens handed to the model at once", DefaultValueFactory = _ => 2048 };

    public Option<int> MicroBatch { get; } = new("--ubatch-size", "-ub") { Description = "Physical batch size: tokens evaluated together", DefaultValueFactory = _ => 512 };

    /// <summary>Adds both options and their checks to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Batch);
        command.Options.Add(MicroBatch);
        command.Validators.Add(result =>
        {
            foreach (var option in new[] { Batch, MicroBatch })
            {
                if (result.GetResult(option) is { Implicit: false } && TryGet(result, option) is < 1)
                {
                    result.AddError($"{option.Aliases.FirstOrDefault() ?? option.Name} must be at least 1");
                }
            }
        });
    }

    /// <summary>The tokens evaluated together: the smaller of <c>-b</c> and <c>-ub</c>.</summary>
    public int PieceSize(ParseResult parseResult) => Math.Min(parseResult.GetValue(Batch), parseResult.GetValue(MicroBatch));

    static int? TryGet(CommandResult result, Option<int> option)
    {
        try
        {
            return result.GetValue(option);
        }
        catch (InvalidOperationException)
        {
            // Not a number: System.CommandLine reports that parse error itself.
            return null;
        }
    }
}
