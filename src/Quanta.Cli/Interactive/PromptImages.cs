using Quanta.Formats.Images;
using Quanta.Inference.Chat;
using Quanta.Inference.Vision;
using Quanta.Templates.Ollama;

namespace Quanta.Cli.Interactive;

/// <summary>
/// Pictures typed into a <c>quanta run</c> prompt, as Ollama's <c>extractFileData</c> finds them for a model that sees
/// (cmd/interactive.go): paths ending in .png, .jpg, .jpeg or .webp (quoted, or with escaped spaces) that name existing
/// files are taken out of the text and attached to the message, each announced on standard error
/// (<c>Added image '…'</c>). A model without a vision tower gets the text as it is.
/// </summary>
internal static class PromptImages
{
    /// <exception cref="UserErrorException">A named picture that cannot be read or decoded (one line naming it).</exception>
    public static PromptMessage UserMessage(string text, ChatModel model, TextWriter error)
    {
        if (model.Vision is null)
        {
            return new PromptMessage("user", text);
        }
        var (prompt, paths) = ImagePrompt.ExtractImagePaths(text, File.Exists);
        if (paths.Count == 0)
        {
            return new PromptMessage("user", text);
        }
        var images = new List<byte[]>(paths.Count);
        foreach (var path in paths)
        {
            try
            {
                // Decoded once here so that a bad file is named before the model runs (the size limit is checked first).
                ImageDecoder.DecodeFile(path);
                images.Add(File.ReadAllBytes(path));
            }
            catch (Exception e) when (e is ImageFileException or IOException or UnauthorizedAccessException)
            {
                throw new UserErrorException(e.Message, e);
            }
            error.WriteLine($"Added image '{path}'");
        }
        return new PromptMessage("user", prompt.Trim()) { Images = images };
    }
}
