namespace Quanta.Templates.Go;

/// <summary>
/// Go's <c>strconv.Quote</c> (what <c>%q</c> and <c>%#v</c> print for a string), for the messages and listings that
/// show text as Ollama's Go code does: <c>show</c>'s parameters, <c>/set parameter</c> errors, format errors.
/// </summary>
public static class GoQuoting
{
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return GoSyntax.Quote(value);
    }
}
