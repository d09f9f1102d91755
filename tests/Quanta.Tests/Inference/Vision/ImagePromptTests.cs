using Quanta.Inference.Vision;

namespace Quanta.Tests.Inference.Vision;

public sealed class ImagePromptTests
{
    static VisionEmbedding Picture(int tokens) => new(new float[tokens * 4], tokens, 4, [], 0, 0);

    static int[] Letters(string text) => [.. text.Select(c => (int)c)];

    [Fact]
    public void Gemma3_wraps_each_picture_as_ollama_post_tokenize_does()
    {
        var image = Picture(256);
        var pieces = ImagePrompt.Layout("look [img-0] now", [image], VisionProjectorType.Gemma3, Letters);
        Assert.Equal(5, pieces.Count);
        Assert.Equal(Letters("look "), pieces[0].Tokens);
        Assert.Equal([108, 255999], pieces[1].Tokens!);
        Assert.Same(image, pieces[2].Image);
        Assert.True(pieces[2].Bidirectional);
        Assert.Equal([256000, 108], pieces[3].Tokens!);
        Assert.Equal(Letters(" now"), pieces[4].Tokens);
        Assert.Equal(5 + 2 + 256 + 2 + 4, pieces.Sum(p => p.Positions));
    }

    [Fact]
    public void Llava_puts_the_embeddings_in_place_of_the_placeholder()
    {
        var first = Picture(576);
        var second = Picture(576);
        var pieces = ImagePrompt.Layout("[img-1][img-0]?", [first, second], VisionProjectorType.LlavaMlp, Letters);
        Assert.Equal(3, pieces.Count);
        Assert.Same(second, pieces[0].Image);
        Assert.Same(first, pieces[1].Image);
        Assert.False(pieces[0].Bidirectional);
        Assert.Equal(Letters("?"), pieces[2].Tokens);
    }

    [Fact]
    public void A_placeholder_without_its_picture_is_an_error()
    {
        Assert.Throws<ArgumentException>(() => ImagePrompt.Layout("[img-2]", [Picture(1)], VisionProjectorType.LlavaMlp, Letters));
    }

    [Fact]
    public void Picture_paths_in_a_prompt_are_found_as_ollama_finds_them()
    {
        var existing = new HashSet<string> { "./cat.png", "/tmp/my dog.JPG" };
        var (prompt, paths) = ImagePrompt.ExtractImagePaths(@"what is in this? ./cat.png and '/tmp/my\ dog.JPG' or ./missing.png", existing.Contains);
        Assert.Equal(["./cat.png", "/tmp/my dog.JPG"], paths);
        Assert.Equal("what is in this?  and  or ./missing.png", prompt);
    }
}
