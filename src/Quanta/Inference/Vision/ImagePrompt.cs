using System.Globalization;
using System.Text.RegularExpressions;

namespace Quanta.Inference.Vision;

/// <summary>
/// A piece of a prompt with pictures: text tokens, or one picture's embeddings (which take
/// <see cref="VisionEmbedding.Tokens"/> positions). <see cref="Bidirectional"/>: the picture's positions attend to
/// each other both ways (Gemma 3), not only causally.
/// </summary>
public sealed record PromptPiece(int[]? Tokens, VisionEmbedding? Image, bool Bidirectional = false)
{
    public int Positions => Tokens?.Length ?? Image!.Tokens;
}

/// <summary>
/// Where pictures go in a prompt, as Ollama lays them out: its templates leave <c>[img-N]</c> where message N's
/// picture belongs; LLaVA's embeddings take that place as they are, Gemma 3's are wrapped as its
/// <c>PostTokenize</c> does (<c>"\n\n"</c>, <c>&lt;start_of_image&gt;</c>, the 256 image positions,
/// <c>&lt;end_of_image&gt;</c>, <c>"\n\n"</c>) and attended bidirectionally. Also Ollama's way of finding picture
/// paths in a typed prompt (<c>quanta run MODEL "what is in this? ./cat.png"</c>). This is the API the runner and
/// the servers call once the language models take embeddings.
/// </summary>
public static partial class ImagePrompt
{
    /// <summary>Gemma 3's token ids (its tokenizer.ggml.tokens): "\n\n", &lt;start_of_image&gt;, &lt;end_of_image&gt;.</summary>
    public const int Gemma3DoubleNewline = 108;
    public const int Gemma3StartOfImage = 255999;
    public const int Gemma3EndOfImage = 256000;

    [GeneratedRegex(@"\[img-(\d+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    // cmd/interactive.go's extractFileNames: an optional drive, then ./ / or \, then a lazy run ending in an image extension.
    [GeneratedRegex(@"(?:[a-zA-Z]:)?(?:\./|/|\\)[\S\\ ]+?\.(?i:jpg|jpeg|png|webp)\b", RegexOptions.CultureInvariant)]
    private static partial Regex ImagePath();

    /// <summary>
    /// Splits <paramref name="prompt"/> at its <c>[img-N]</c> placeholders into token and picture pieces. Gemma 3's
    /// pictures are wrapped in <paramref name="gemma3Before"/> and <paramref name="gemma3After"/> (by default Ollama's
    /// ids: "\n\n" &lt;start_of_image&gt; and &lt;end_of_image&gt; "\n\n").
    /// </summary>
    /// <exception cref="ArgumentException">A placeholder names a picture that is not in <paramref name="images"/>.</exception>
    public static IReadOnlyList<PromptPiece> Layout(string prompt, IReadOnlyList<VisionEmbedding> images, VisionProjectorType projector, Func<string, int[]> tokenize,
        int[]? gemma3Before = null, int[]? gemma3After = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(tokenize);
        var pieces = new List<PromptPiece>();
        var at = 0;
        foreach (Match match in Placeholder().Matches(prompt))
        {
            if (match.Index > at)
            {
                pieces.Add(new PromptPiece(tokenize(prompt[at..match.Index]), null));
            }
            var index = int.Parse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture);
            if (index >= images.Count)
            {
                throw new ArgumentException($"the prompt refers to picture {index}, but {images.Count} were given", nameof(images));
            }
            if (projector == VisionProjectorType.Gemma3)
            {
                pieces.Add(new PromptPiece(gemma3Before ?? [Gemma3DoubleNewline, Gemma3StartOfImage], null));
                pieces.Add(new PromptPiece(null, images[index], Bidirectional: true));
                pieces.Add(new PromptPiece(gemma3After ?? [Gemma3EndOfImage, Gemma3DoubleNewline], null));
            }
            else
            {
                pieces.Add(new PromptPiece(null, images[index]));
            }
            at = match.Index + match.Length;
        }
        if (at < prompt.Length)
        {
            pieces.Add(new PromptPiece(tokenize(prompt[at..]), null));
        }
        return pieces;
    }

    /// <summary>
    /// <see cref="Layout"/> for a model's own tokenizer: text tokenized with special tokens parsed and no BOS, BOS once
    /// in front when the vocabulary adds one, and Gemma 3's markers around a picture the tokens of
    /// "\n\n&lt;start_of_image&gt;" and "&lt;end_of_image&gt;\n\n", as llama.cpp's mtmd finds them (in Gemma 3's
    /// vocabulary Ollama's ids 108, 255999 and 256000, 108).
    /// </summary>
    /// <exception cref="ArgumentException">A placeholder names a picture that is not in <paramref name="images"/>.</exception>
    public static IReadOnlyList<PromptPiece> Layout(string prompt, IReadOnlyList<VisionEmbedding> images, VisionProjectorType projector, Tokenizers.Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        int[] Text(string text) => tokenizer.Tokenize(text, addSpecial: false, parseSpecial: true);
        var pieces = Layout(prompt, images, projector, Text, Text("\n\n<start_of_image>"), Text("<end_of_image>\n\n"));
        var vocabulary = tokenizer.Vocabulary;
        return vocabulary.AddBos && vocabulary.Bos != Tokenizers.Vocabulary.NoToken ? [new PromptPiece([vocabulary.Bos], null), .. pieces] : pieces;
    }

    /// <summary>
    /// Ollama's <c>extractFileData</c>: the picture paths typed in <paramref name="prompt"/> (escaped spaces and
    /// <c>%20</c> undone) that exist, and the prompt without them (quoted or not).
    /// </summary>
    public static (string Prompt, IReadOnlyList<string> Paths) ExtractImagePaths(string prompt, Func<string, bool> fileExists)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(fileExists);
        var paths = new List<string>();
        foreach (Match match in ImagePath().Matches(prompt))
        {
            var typed = match.Value;
            var path = Normalize(typed);
            if (!fileExists(path))
            {
                continue;
            }
            paths.Add(path);
            prompt = prompt.Replace("'" + path + "'", "", StringComparison.Ordinal)
                .Replace("'" + typed + "'", "", StringComparison.Ordinal)
                .Replace(typed, "", StringComparison.Ordinal);
        }
        return (prompt, paths);
    }

    // normalizeFilePath: shell escapes and URL-encoded spaces.
    static string Normalize(string path)
    {
        string[] escaped = ["\\ ", "\\(", "\\)", "\\[", "\\]", "\\{", "\\}", "\\$", "\\&", "\\;", "\\'", "\\\\", "\\*", "\\?", "\\~"];
        foreach (var e in escaped)
        {
            path = path.Replace(e, e[1..], StringComparison.Ordinal);
        }
        return path.Replace("%20", " ", StringComparison.Ordinal);
    }
}
