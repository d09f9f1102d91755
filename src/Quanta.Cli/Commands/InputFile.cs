namespace Quanta.Cli.Commands;

/// <summary>
/// The check every verb makes on an input path before opening it, so that a missing file reads the same
/// everywhere ("PATH: file not found") instead of the memory mapper's or the runtime's wording, and a directory
/// given where a file belongs says what to give instead.
/// </summary>
internal static class InputFile
{
    /// <summary>Throws a one-line <see cref="UserErrorException"/> unless <paramref name="path"/> is an existing file.</summary>
    /// <param name="path">The path as the user gave it (printed as given).</param>
    /// <param name="kind">What belongs there, for the directory message: "give the path of a <paramref name="kind"/>".</param>
    public static void Require(string path, string kind = "file")
    {
        if (File.Exists(path))
        {
            return;
        }
        throw new UserErrorException(Directory.Exists(path) ? $"{path}: is a directory; give the path of a {kind}" : $"{path}: file not found");
    }
}
