namespace Quanta.Templates.Go;

/// <summary>How a function parameter receives a value, after Go's parameter types.</summary>
public enum ParameterKind
{
    /// <summary><c>reflect.Value</c>: any value, nil included, but not "no value".</summary>
    Value,

    /// <summary><c>any</c>: any value; "no value" arrives as null.</summary>
    Any,

    /// <summary><c>string</c>: a string, or the call fails with Go's "wrong type for value".</summary>
    String,

    /// <summary>No type (the head of a field chain): the value as it is.</summary>
    Untyped,
}

/// <summary>
/// A function templates can call (Go's <c>FuncMap</c> entry): its fixed parameters, an optional variadic one, and
/// the code. The code throws <see cref="TemplateFunctionException"/> for Go's <c>error calling NAME: ...</c>.
/// </summary>
public sealed class TemplateFunction
{
    public TemplateFunction(Func<IReadOnlyList<object?>, object?> invoke, IReadOnlyList<ParameterKind> parameters, ParameterKind? variadic = null)
    {
        Invoke = invoke;
        Parameters = parameters;
        Variadic = variadic;
    }

    public Func<IReadOnlyList<object?>, object?> Invoke { get; }

    public IReadOnlyList<ParameterKind> Parameters { get; }

    public ParameterKind? Variadic { get; }

    /// <summary>For Go's <c>and</c> (false) and <c>or</c> (true): stop at the first argument with this truth.</summary>
    internal bool? ShortCircuit { get; init; }
}

/// <summary>A template function failed; the renderer reports <c>error calling NAME: </c> and this message.</summary>
public sealed class TemplateFunctionException : Exception
{
    public TemplateFunctionException()
    {
    }

    public TemplateFunctionException(string message)
        : base(message)
    {
    }

    public TemplateFunctionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
