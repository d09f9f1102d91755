using System.Globalization;
using Quanta.Cli.Rendering;
using Quanta.Inference.Chat;

namespace Quanta.Cli.Interactive;

/// <summary>One answer of <c>quanta run</c>, streamed to stdout, and Ollama's <c>--verbose</c> statistics.</summary>
internal static class RunAnswer
{
    /// <summary>Answers the conversation in <paramref name="options"/>, writing the text as it comes.</summary>
    /// <exception cref="UserErrorException">The request cannot be answered (a prompt longer than the context, a template that fails, a bad option).</exception>
    public static ChatResult Write(CliContext context, RunModel model, RunOptions options, CancellationToken cancellationToken)
    {
        var printer = new AnswerPrinter(context.Out, context.OutIsTerminal, options.WordWrap, options.HideThinking);
        try
        {
            return model.Session.Chat(options.Request(), printer.Write, cancellationToken);
        }
        catch (Exception e) when (e is ChatException or FormatException or Templates.Go.TemplateException or Templates.Jinja.JinjaException
            or Inference.Sampling.Grammar.JsonSchemaConversionException or Inference.Sampling.Grammar.GbnfFormatException)
        {
            throw new UserErrorException(e.Message, e);
        }
        finally
        {
            printer.Finish();
            context.Out.Flush();
        }
    }

    /// <summary>Ollama's statistics block (api/types.go, <c>Metrics.Summary</c>), on stderr.</summary>
    public static void WriteStatistics(TextWriter error, ChatStatistics s)
    {
        var c = CultureInfo.InvariantCulture;
        if (s.TotalDuration > 0)
        {
            error.WriteLine($"total duration:       {GoDuration.Format(s.TotalDuration)}");
        }
        if (s.LoadDuration > 0)
        {
            error.WriteLine($"load duration:        {GoDuration.Format(s.LoadDuration)}");
        }
        if (s.PromptEvalCount > 0)
        {
            error.WriteLine(string.Create(c, $"prompt eval count:    {s.PromptEvalCount} token(s)"));
        }
        if (s.PromptEvalDuration > 0)
        {
            error.WriteLine($"prompt eval duration: {GoDuration.Format(s.PromptEvalDuration)}");
            error.WriteLine(string.Create(c, $"prompt eval rate:     {s.PromptEvalCount / (s.PromptEvalDuration / 1e9):F2} tokens/s"));
        }
        if (s.EvalCount > 0)
        {
            error.WriteLine(string.Create(c, $"eval count:           {s.EvalCount} token(s)"));
        }
        if (s.EvalDuration > 0)
        {
            error.WriteLine($"eval duration:        {GoDuration.Format(s.EvalDuration)}");
            error.WriteLine(string.Create(c, $"eval rate:            {s.EvalCount / (s.EvalDuration / 1e9):F2} tokens/s"));
        }
        error.Flush();
    }
}
