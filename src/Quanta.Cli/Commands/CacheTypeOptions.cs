using System.CommandLine;
using Quanta.Inference.Models;

namespace Quanta.Cli.Commands;

/// <summary>
/// llama.cpp's <c>-ctk/--cache-type-k</c> and <c>-ctv/--cache-type-v</c> for the commands that run a model. Keys may
/// be f16 or q8_0; a quantized V cache is refused with llama.cpp's reason (it needs flash attention), as a usage error.
/// </summary>
internal sealed class CacheTypeOptions
{
    public Option<string> Keys { get; } = new("--cache-type-k", "-ctk") { Description = "KV cache data type for K: f16 (default) or q8_0" };

    public Option<string> Values { get; } = new("--cache-type-v", "-ctv") { Description = "KV cache data type for V: f16 (a quantized V cache needs flash attention, which Quanta does not have)" };

    /// <summary>Adds both options and their check to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Keys);
        command.Options.Add(Values);
        command.Validators.Add(result =>
        {
            try
            {
                KvCacheTypes.Parse(result.GetValue(Keys), result.GetValue(Values));
            }
            catch (ArgumentException e)
            {
                result.AddError(e.Message);
            }
        });
    }

    public KvCacheTypes Read(ParseResult parseResult) => KvCacheTypes.Parse(parseResult.GetValue(Keys), parseResult.GetValue(Values));
}
