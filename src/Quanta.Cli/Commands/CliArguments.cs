using System.CommandLine;

namespace Quanta.Cli.Commands;

/// <summary>Arguments several verbs share, with the same rules everywhere.</summary>
internal static class CliArguments
{
    /// <summary>
    /// A path argument that refuses option-like values. System.CommandLine hands an unknown option such as
    /// <c>--tensor</c> to a string argument as its value, which would turn a typo into "file not found";
    /// a file whose name starts with '-' can still be given as <c>./-name</c>.
    /// </summary>
    public static Argument<string> InputPath(string name, string description)
    {
        var argument = new Argument<string>(name) { Description = description };
        argument.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (token.Value.Length > 1 && token.Value[0] == '-')
                {
                    result.AddError($"Unrecognized option '{token.Value}'.");
                }
            }
        });
        return argument;
    }
}
