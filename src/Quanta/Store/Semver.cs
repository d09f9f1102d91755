using System.Text.RegularExpressions;

namespace Quanta.Store;

/// <summary>golang.org/x/mod/semver's <c>IsValid</c>: <c>vMAJOR[.MINOR[.PATCH[-pre][+build]]]</c>.</summary>
internal static partial class Semver
{
    public static bool IsValid(string version) => Pattern().IsMatch(version);

    [GeneratedRegex(@"^v(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
