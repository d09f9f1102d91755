using System.Diagnostics;
using Quanta.Formats.Gguf;
using Quanta.Inference.Models;
using Quanta.Inference.Tokenizers;

namespace Quanta.Inference.Chat;

/// <summary>
/// A GGUF model loaded to chat with: the file (mapped, kept open), its forward pass, its tokenizer and its
/// <c>tokenizer.chat_template</c>. One conversation at a time uses it (<see cref="ChatSession"/>); the KV cache of
/// the forward pass is that conversation's.
/// </summary>
public sealed class ChatModel : IDisposable
{
    readonly GgufFile _file;

    ChatModel(string path, GgufFile file, LlamaModel model, Tokenizer tokenizer, int threads, long loadNanoseconds)
    {
        Path = path;
        _file = file;
        Model = model;
        Tokenizer = tokenizer;
        Threads = threads;
        LoadDuration = loadNanoseconds;
        ChatTemplate = file.Metadata.LenientString("tokenizer.chat_template");
    }

    /// <summary>The GGUF file.</summary>
    public string Path { get; }

    /// <summary>The forward pass.</summary>
    public LlamaModel Model { get; }

    public Tokenizer Tokenizer { get; }

    /// <summary>The threads the forward pass runs on.</summary>
    public int Threads { get; }

    /// <summary>The file's Jinja chat template, or null.</summary>
    public string? ChatTemplate { get; }

    /// <summary>The context the model was trained with (<c>{arch}.context_length</c>); 0 when the file does not say.</summary>
    public int TrainingContextLength => Model.Hyperparameters.ContextLength;

    /// <summary>The session whose tokens the KV cache holds (another session must not reuse them).</summary>
    internal object? CacheOwner { get; set; }

    /// <summary>How long <see cref="Load"/> took, in nanoseconds.</summary>
    public long LoadDuration { get; }

    /// <summary>
    /// Opens and loads <paramref name="path"/> on <paramref name="threads"/> threads (all processors when 0).
    /// </summary>
    /// <exception cref="GgufFormatException">Not a GGUF file, an architecture that cannot run, a missing tensor.</exception>
    /// <exception cref="VocabularyFormatException">The file has no usable tokenizer.</exception>
    public static ChatModel Load(string path, int threads = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var clock = Stopwatch.StartNew();
        var file = GgufFile.Open(path);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = threads > 0 ? threads : Environment.ProcessorCount;
            var model = LlamaModel.Load(file, count);
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                var tokenizer = new Tokenizer(Vocabulary.Load(file));
                if (tokenizer.Vocabulary.Count > model.VocabularySize)
                {
                    throw new GgufFormatException($"{path}: the vocabulary has {tokenizer.Vocabulary.Count} tokens but the model only {model.VocabularySize} rows of embeddings");
                }
                return new ChatModel(path, file, model, tokenizer, count, (long)clock.Elapsed.TotalNanoseconds);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        _file.Dispose();
    }
}
