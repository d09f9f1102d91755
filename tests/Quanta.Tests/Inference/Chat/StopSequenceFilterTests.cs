using Quanta.Inference.Chat;

namespace Quanta.Tests.Inference.Chat;

/// <summary>The stop-sequence rules of Ollama's runner (findStop, containsStopSuffix, truncateStop) on streamed text.</summary>
public sealed class StopSequenceFilterTests
{
    [Fact]
    public void Text_that_may_begin_a_stop_sequence_is_held_back_until_it_cannot()
    {
        var filter = new StopSequenceFilter(["<|end|>"]);
        Assert.Equal("Hello", filter.Push("Hello<|"));
        Assert.Equal("", filter.Push("en"));
        Assert.Equal("<|en world", filter.Push(" world"));
        Assert.False(filter.Stopped);
        Assert.Equal("", filter.Flush());
    }

    [Fact]
    public void A_stop_sequence_split_over_pieces_ends_the_text_before_it()
    {
        var filter = new StopSequenceFilter(["\nUser:"]);
        Assert.Equal("Sure", filter.Push("Sure\nUs"));
        Assert.Equal("\nUs.", filter.Push("."));
        Assert.Equal("", filter.Push("\nUse"));
        Assert.Equal("", filter.Push("r: next"));
        Assert.True(filter.Stopped);
        Assert.Equal("\nUser:", filter.StoppedBy);
        Assert.Equal("", filter.Push("more"));
        Assert.Equal("", filter.Flush());
    }

    [Fact]
    public void The_first_stop_sequence_of_the_list_that_occurs_wins_as_in_ollama()
    {
        var filter = new StopSequenceFilter(["c", "a"]);
        Assert.Equal("ab", filter.Push("abc"));
        Assert.Equal("c", filter.StoppedBy);
    }

    [Fact]
    public void What_never_became_a_stop_sequence_comes_out_at_the_end()
    {
        var filter = new StopSequenceFilter(["STOP", ""]);
        Assert.Equal("go ", filter.Push("go ST"));
        Assert.Equal("ST", filter.Flush());
    }
}
