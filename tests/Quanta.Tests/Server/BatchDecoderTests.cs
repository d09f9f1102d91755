using System.Text.Json.Nodes;
using Quanta.Inference.Chat;
using Quanta.Server.Scheduling;
using Quanta.Tests.Inference.Models;

namespace Quanta.Tests.Server;

/// <summary>
/// Continuous batching (<see cref="BatchDecoder"/>) on the trained tiny Llama: requests decoded together give the text
/// each gives alone in the model's own cache (greedy; the engine's batched logits are the single-sequence ones bit for
/// bit, and "The package" alone is llama.cpp's text), whether they join mid-generation, have their prompt evaluated in
/// pieces, shift their context, or a neighbour is cancelled; requests with another context wait for the cache to be
/// made again, in order.
/// </summary>
public sealed class BatchDecoderTests
{
    static readonly string[] Prompts =
    [
        "The package", "Once upon a time there was", "The", "A small dog and a big cat went to the park and",
        "Hello", "The package manager", "It was a dark and stormy night; the rain fell in torrents", "Why",
    ];

    static ChatRequest Greedy(int predict, int context = 256) => new([])
    {
        Options =
        [
            new("temperature", JsonValue.Create(0)),
            new("num_predict", JsonValue.Create(predict)),
            new("num_ctx", JsonValue.Create(context)),
        ],
    };

    static ChatModel Load() => ChatModel.Load(TinyTrainedModel.ShippedQ8_0, threads: 2);

    static ChatSession Session(ChatModel model) => new(model, "{{ .Prompt }}");

    [Fact]
    public void Concurrent_greedy_requests_give_the_text_each_gives_alone()
    {
        using var model = Load();
        var session = Session(model);
        var alone = Prompts.Select((p, i) => session.Generate(p, Greedy(8 + 3 * i)).Content).ToList();
        Assert.Equal(TestServer.GreedyThePackage[..alone[0].Length], alone[0]);

        // Four sequences for eight requests (the others wait and join as sequences free), prompts in pieces of 3 tokens.
        using var decoder = new BatchDecoder(model.Model, parallel: 4, promptTokensPerStep: 3);
        // A thread per request, as the server runs each generation (thread-pool tasks could run one after the other).
        var batched = new string[Prompts.Length];
        var errors = new Exception?[Prompts.Length];
        var threads = Prompts.Select((p, i) => new Thread(() => RunOnThread(decoder, session, p, Greedy(8 + 3 * i), batched, errors, i))).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(errors, Assert.Null);
        Assert.Equal(alone, batched);
        Assert.True(decoder.WidestStep > 1, $"widest step {decoder.WidestStep}");
        var tokens = Prompts.Select((p, i) => session.Tokenize(p).Length + 8 + 3 * i).Sum();
        Assert.True(decoder.Steps < tokens, $"{decoder.Steps} steps for {tokens} tokens");
    }

    static void RunOnThread(BatchDecoder decoder, ChatSession session, string prompt, ChatRequest request, string[] results, Exception?[] errors, int index)
    {
        try
        {
            using var sequence = decoder.AdmitAsync(256, CancellationToken.None).GetAwaiter().GetResult();
            results[index] = session.Generate(prompt, request, sequence).Content;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or OperationCanceledException)
        {
            errors[index] = e;
        }
    }

    [Fact]
    public async Task A_cancelled_request_leaves_at_once_and_its_neighbours_text_does_not_change()
    {
        using var model = Load();
        var session = Session(model);
        var alone = Prompts[..3].Select(p => session.Generate(p, Greedy(40)).Content).ToList();

        using var decoder = new BatchDecoder(model.Model, parallel: 4, promptTokensPerStep: 64);
        using var cancel = new CancellationTokenSource();
        var deltas = 0;
        var cancelled = Task.Run(async () =>
        {
            using var sequence = await decoder.AdmitAsync(256, CancellationToken.None);
            return session.Generate("Hello", Greedy(100000), sequence, d =>
            {
                if (++deltas == 5)
                {
                    cancel.Cancel();
                }
            }, cancel.Token);
        });
        var others = await Task.WhenAll(Prompts[..3].Select(p => Task.Run(async () =>
        {
            using var sequence = await decoder.AdmitAsync(256, CancellationToken.None);
            return session.Generate(p, Greedy(40), sequence).Content;
        })));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(alone, others);

        // Its sequence is free again, and what it left in the cache does not leak into the next request there.
        var again = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            using var sequence = await decoder.AdmitAsync(256, CancellationToken.None);
            return session.Generate(Prompts[0], Greedy(40), sequence).Content;
        })));
        Assert.All(again, text => Assert.Equal(alone[0], text));
    }

    [Fact]
    public async Task Context_shifts_in_a_batch_give_the_shifted_text_alone()
    {
        using var model = Load();
        var session = Session(model);
        // 32 positions, 60 tokens: each request shifts its context (num_keep 4 + BOS) more than once.
        var request = Greedy(60, context: 32);
        var alone = Prompts[..3].Select(p => session.Generate(p, request).Content).ToList();

        using var decoder = new BatchDecoder(model.Model, parallel: 3, promptTokensPerStep: 8);
        var batched = await Task.WhenAll(Prompts[..3].Select(p => Task.Run(async () =>
        {
            using var sequence = await decoder.AdmitAsync(32, CancellationToken.None);
            return session.Generate(p, request, sequence).Content;
        })));
        Assert.Equal(alone, batched);
    }

    [Fact]
    public async Task A_request_reuses_the_prefix_a_free_sequence_holds()
    {
        using var model = Load();
        var session = Session(model);
        using var decoder = new BatchDecoder(model.Model, parallel: 2, promptTokensPerStep: 64);
        var prompt = Prompts[3];
        ChatResult first;
        using (var sequence = await decoder.AdmitAsync(256, CancellationToken.None))
        {
            first = session.Generate(prompt, Greedy(8), sequence);
        }
        using var other = await decoder.AdmitAsync(256, CancellationToken.None);
        using var again = await decoder.AdmitAsync(256, CancellationToken.None);
        // The same prompt takes the sequence that holds it: only its last token is evaluated again ...
        var second = session.Generate(prompt, Greedy(8), again);
        Assert.Equal(1, second.Statistics.PromptEvalCount);
        Assert.Equal(first.Content, second.Content);
        // ... and another prompt the other, empty one.
        Assert.Equal(session.Tokenize("Why").Length, session.Generate("Why", Greedy(2), other).Statistics.PromptEvalCount);
    }

    [Fact]
    public async Task A_request_with_another_context_waits_for_the_running_ones_then_the_cache_is_made_again_in_order()
    {
        using var model = Load();
        using var decoder = new BatchDecoder(model.Model, parallel: 2, promptTokensPerStep: 64);
        var running = await decoder.AdmitAsync(64, CancellationToken.None);
        Assert.Equal(64, decoder.ContextLength);

        var longer = decoder.AdmitAsync(128, CancellationToken.None);
        // A free sequence of the current context, but the request before it waits for a reload: it waits too.
        var later = decoder.AdmitAsync(64, CancellationToken.None);
        using (var cancelled = new CancellationTokenSource())
        {
            var gone = decoder.AdmitAsync(128, cancelled.Token);
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone);
        }
        await Task.Delay(100);
        Assert.False(longer.IsCompleted);
        Assert.False(later.IsCompleted);

        running.Dispose();
        using (var reloaded = await longer.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            Assert.Equal(128, reloaded.ContextLength);
            Assert.Equal(128, decoder.ContextLength);
            await Task.Delay(100);
            Assert.False(later.IsCompleted);
        }
        using var back = await later.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(64, back.ContextLength);
    }

    [Fact]
    public async Task A_sequence_must_start_with_the_context_it_was_admitted_for()
    {
        using var model = Load();
        using var decoder = new BatchDecoder(model.Model, parallel: 1, promptTokensPerStep: 64);
        using var sequence = await decoder.AdmitAsync(64, CancellationToken.None);
        var session = Session(model);
        Assert.Throws<ArgumentException>(() => session.Generate("The", Greedy(2, context: 128), sequence));
    }
}
