namespace Quanta.Templates.Go;

/// <summary>
/// A value that writes its own JSON, as a Go type with struct tags or a <c>MarshalJSON</c> method does (field names
/// in lower case, <c>omitempty</c>, declaration order): <see cref="GoJson.Marshal"/> uses it as it is.
/// </summary>
internal interface IGoJsonValue
{
    string ToGoJson();
}
