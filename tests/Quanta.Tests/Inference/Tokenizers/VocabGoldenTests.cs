namespace Quanta.Tests.Inference.Tokenizers;

/// <summary>Every llama.cpp vocabulary test with a vocabulary file: the ids must be llama.cpp's, exactly.</summary>
public class VocabGoldenTests
{
    [Theory]
    [InlineData("llama-spm")]
    [InlineData("phi-3")]
    [InlineData("bert-bge")]
    [InlineData("gpt-2")]
    [InlineData("falcon")]
    [InlineData("mpt")]
    [InlineData("starcoder")]
    [InlineData("refact")]
    [InlineData("deepseek-llm")]
    [InlineData("deepseek-coder")]
    public void Tokenizes_every_text_as_llama_cpp(string name)
    {
        var tokenizer = VocabFixtures.Load(name);
        var failures = VocabFixtures.Mismatches(tokenizer, name);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
