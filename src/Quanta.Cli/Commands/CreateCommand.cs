using System.CommandLine;
using Quanta.Cli.Rendering;
using Quanta.Quantization;
using Quanta.Store;

namespace Quanta.Cli.Commands;

/// <summary>
/// <c>quanta create NAME -f Modelfile [--quantize TYPE]</c>: <c>ollama create</c>, with every preset and switch of
/// <c>quanta quantize</c>, printing Ollama's status lines on stderr.
/// </summary>
internal static class CreateCommand
{
    public static Command Create(CliContext context)
    {
        var name = StoreArguments.NameArgument("NAME", "The model to create, e.g. my-llama or team/llama:v1");
        var file = new Option<string>("--file", "-f") { Description = "The Modelfile (default: ./Modelfile)", HelpName = "Modelfile" };
        var quantize = new Option<string>("--quantize", "-q") { Description = "Quantize the model layer to this type (Q4_K_M, q8_0 ...; see 'quanta types')", HelpName = "TYPE" };
        var quantizeProjector = new Option<string>("--quantize-projector") { Description = "Quantize the vision projector too (kept as it is by default)", HelpName = "TYPE" };
        var store = StoreArguments.StoreOption();
        var o = new QuantizeCommand.Switches();
        var command = new Command("create", "Create a model in the store from a Modelfile (ollama create)")
        {
            name, file, quantize, quantizeProjector, store,
            o.Pure, o.OutputTensorType, o.TokenEmbeddingType, o.TensorType, o.TensorTypeFile, o.LeaveOutputTensor,
            o.AllowRequantize, o.OverrideKv, o.PruneLayers, o.VisionType, o.ProjectorType, o.Threads, o.Imatrix, o.IncludeWeights, o.ExcludeWeights,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var modelName = StoreArguments.Name(parseResult.GetRequiredValue(name));
            var path = parseResult.GetValue(file) ?? "Modelfile";
            if (!File.Exists(path))
            {
                throw new UserErrorException(Directory.Exists(path) ? $"{path}: is a directory; give the path of a Modelfile" : $"{path}: Modelfile not found");
            }
            var modelfile = Parse(path);
            var options = ReadOptions(parseResult, o, parseResult.GetValue(quantize), parseResult.GetValue(quantizeProjector), context);
            Run(context, StoreArguments.Open(parseResult, store), modelName, modelfile, Path.GetDirectoryName(Path.GetFullPath(path))!, options, cancellationToken);
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    static Modelfile Parse(string path)
    {
        try
        {
            return Modelfile.Load(path);
        }
        catch (ModelfileException e)
        {
            throw new UserErrorException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>quantize's switches, read by quantize's own code, turned into create options.</summary>
    internal static CreateOptions ReadOptions(ParseResult parseResult, QuantizeCommand.Switches o, string? quantize, string? quantizeProjector, CliContext context)
    {
        QuantizationPreset? preset = null;
        QuantizationOptions quantizationOptions = QuantizationOptions.Default;
        QuantizerOptions run = QuantizerOptions.Default;
        if (quantize is not null)
        {
            // Checked here: quantize's own message would guess at a missing output file, which create does not have.
            if (!QuantizationPresets.TryParse(quantize, out _))
            {
                throw new UserErrorException($"--quantize: unknown quantization type '{quantize}'; run 'quanta types' for the list");
            }
            // The same reading (and the same errors) as 'quanta quantize IN TYPE'.
            var request = QuantizeCommand.ReadRequest(parseResult, ["model", quantize], o);
            (preset, quantizationOptions, run) = (request.Preset, request.Options, request.Run);
        }
        if (quantize is null && parseResult.GetValue(o.Imatrix) is not null)
        {
            throw new UserErrorException("--imatrix is used when quantizing: give --quantize TYPE too");
        }
        QuantizationPreset? projector = null;
        if (quantizeProjector is not null && !QuantizationPresets.TryParse(quantizeProjector, out projector))
        {
            throw new UserErrorException($"--quantize-projector: unknown quantization type '{quantizeProjector}'; run 'quanta types' for the list");
        }
        if (quantize is null && projector is not null)
        {
            // The projector still needs the thread count and other run switches.
            var request = QuantizeCommand.ReadRequest(parseResult, ["model", quantizeProjector!], o);
            run = request.Run;
        }
        return new CreateOptions
        {
            Quantize = preset,
            QuantizationOptions = quantizationOptions,
            Run = run,
            QuantizeProjector = projector,
            Status = line => context.Error.WriteLine(line),
            Warning = line => context.Error.WriteLine($"warning: {line}"),
            RunQuantizer = context.ErrorIsTerminal
                ? (job, token) => QuantizeProgress.RunWithBar(context, job, token)
                : null,
        };
    }

    internal static void Run(CliContext context, ModelStore store, ModelName name, Modelfile modelfile, string baseDirectory, CreateOptions options, CancellationToken cancellationToken)
    {
        try
        {
            ModelCreator.Create(store, name, modelfile, baseDirectory, options, cancellationToken);
        }
        catch (ModelfileException e)
        {
            throw new UserErrorException(e.Message, e);
        }
        catch (QuantizationException e)
        {
            throw new UserErrorException(e.Message, e);
        }
        catch (ArgumentException e)
        {
            throw new UserErrorException(e.Message.Split(" (Parameter", 2)[0], e);
        }
    }
}
