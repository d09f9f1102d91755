using Quanta.Formats;

namespace Quanta.Inference.Evaluation;

/// <summary>
/// The input of a perplexity or KL-divergence run cannot be used: a text too short for one chunk, or a base
/// log-probability file that is not one, is cut short, or was computed for another vocabulary or context.
/// </summary>
public sealed class EvaluationInputException : FileFormatException
{
    public EvaluationInputException()
    {
    }

    public EvaluationInputException(string message)
        : base(message)
    {
    }

    public EvaluationInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
