using Quanta.Store;

namespace Quanta.Tests.Store;

public class ModelNameTests
{
    [Theory]
    [InlineData("llama3", "registry.ollama.ai/library/llama3:latest", "llama3:latest")]
    [InlineData("llama3.1:8b", "registry.ollama.ai/library/llama3.1:8b", "llama3.1:8b")]
    [InlineData("team/llama:v1", "registry.ollama.ai/team/llama:v1", "team/llama:v1")]
    [InlineData("example.com:8080/ns/m_1:q4_K_M", "example.com:8080/ns/m_1:q4_K_M", "example.com:8080/ns/m_1:q4_K_M")]
    [InlineData("https://hf.co/user/repo:Q4", "hf.co/user/repo:Q4", "hf.co/user/repo:Q4")]
    public void Parses_with_ollamas_defaults(string text, string full, string shortest)
    {
        var name = ModelName.Parse(text);
        Assert.Equal(full, name.ToString());
        Assert.Equal(shortest, name.DisplayShortest);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../etc/passwd")]
    [InlineData("..")]
    [InlineData("a/../b")]
    [InlineData("/abs/path")]
    [InlineData("a/b/c/d")]
    [InlineData("model:")]
    [InlineData("model:.hidden")]
    [InlineData("-model")]
    [InlineData("mo del")]
    [InlineData("model\\x")]
    [InlineData("ns.dot/model")]
    [InlineData("model@sha256-abc")]
    [InlineData("model+Q4_0")]
    [InlineData("model:a:b")]
    [InlineData("m\u00e9")]
    public void Rejects_names_that_could_leave_the_store_or_ollama_refuses(string text) =>
        Assert.Throws<FormatException>(() => ModelName.Parse(text));

    [Fact]
    public void Enforces_part_lengths()
    {
        ModelName.Parse(new string('m', 80));
        Assert.Throws<FormatException>(() => ModelName.Parse(new string('m', 81)));
        Assert.Throws<FormatException>(() => ModelName.Parse("m:" + new string('t', 81)));
        Assert.Throws<FormatException>(() => ModelName.Parse(new string('n', 81) + "/m"));
    }
}
