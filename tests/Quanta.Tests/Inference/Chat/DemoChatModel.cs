using Quanta.Inference.Chat;
using Quanta.Tests.Cli;

namespace Quanta.Tests.Inference.Chat;

/// <summary>
/// A small model of <c>quanta demo --write-model</c> (2 blocks of width 128, the Llama 2 tokenizer of 32,000 tokens,
/// no chat template: prompts are the text itself), written once for the chat tests, and loaded on 2 threads.
/// </summary>
public sealed class DemoChatModel : IDisposable
{
    readonly TempDirectory _dir = new();

    public DemoChatModel()
    {
        Path = _dir.File("demo.gguf");
        var result = CliRunner.Run("demo", "--write-model", Path, "--layers", "2", "--width", "128", "--ffn", "384", "--heads", "4", "--kv-heads", "2");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(result.Error);
        }
        Model = ChatModel.Load(Path, threads: 2);
    }

    public string Path { get; }

    /// <summary>The loaded model (sessions over it share its KV cache, one at a time).</summary>
    public ChatModel Model { get; }

    public string File(string name) => _dir.File(name);

    public void Dispose()
    {
        Model.Dispose();
        _dir.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class DemoChatModelCollection : ICollectionFixture<DemoChatModel>
{
    public const string Name = "demo chat model";
}
