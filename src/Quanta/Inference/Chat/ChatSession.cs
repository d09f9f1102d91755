using System.Diagnostics;
using Quanta.Formats.Images;
using Quanta.Inference.Chat.Thinking;
using Quanta.Inference.Sampling;
using Quanta.Inference.Sampling.Grammar;
using Quanta.Inference.Tokenizers;
using Quanta.Inference.Vision;
using Quanta.Templates.Ollama;

namespace Quanta.Inference.Chat;

/// <summary>
/// A conversation with a loaded model, answered as Ollama answers <c>/api/chat</c>: the model's system message and
/// MESSAGE layers go before the request's messages, the chat template turns them into the prompt (the oldest messages
/// dropped until it fits <c>num_ctx</c>), the options are Ollama's (built-in defaults &lt; the model's parameters &lt; the
/// request's), the tokens are sampled by llama.cpp's chain, and the answer streams until an end-of-generation token,
/// a stop sequence (never shown, even split over tokens) or the <c>num_predict</c> budget. The KV cache is kept
/// between turns: a turn evaluates only the prompt tokens after the part it shares with what the cache holds. When
/// the context fills, it is shifted as llama.cpp's server shifts it for Ollama: the first <c>num_keep</c> tokens
/// (and BOS) stay, half of the rest is dropped.
/// </summary>
/// <remarks>
/// The template: a stored TEMPLATE (Go) wins, else the file's <c>tokenizer.chat_template</c> (Jinja), else
/// <c>{{ .Prompt }}</c> (<see cref="ChatTemplateChoice"/>). The session knows nothing of the store: the caller maps a
/// stored model's layers onto <see cref="ChatSession(ChatModel, string?)"/>, <see cref="System"/>,
/// <see cref="Messages"/> and <see cref="Parameters"/>. One request at a time.
/// </remarks>
public sealed class ChatSession
{
    readonly ChatModel _model;
    readonly string? _storedTemplate;
    readonly ModelSequence _ownSequence;
    int _loadReported;
    IReadOnlyList<string>? _templateStops;

    /// <param name="model">The loaded model; the session uses its KV cache.</param>
    /// <param name="storedTemplate">A stored TEMPLATE layer (Go), which wins over the file's chat template.</param>
    /// <exception cref="Templates.Go.TemplateException">The chosen Go template does not parse.</exception>
    /// <exception cref="Templates.Jinja.JinjaException">The chosen Jinja template does not parse.</exception>
    public ChatSession(ChatModel model, string? storedTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _storedTemplate = storedTemplate;
        _ownSequence = new ModelSequence(model);
        TemplateSource = ChatTemplateChoice.Choose(storedTemplate, model.ChatTemplate);
        Template = TemplateSource.Language == TemplateLanguage.Go
            ? OllamaPromptTemplate.Parse(TemplateSource.Text)
            : new JinjaChatTemplate(TemplateSource.Text, model.Tokenizer.Vocabulary);
        ThinkingTags = TemplateSource.Language == TemplateLanguage.Go
            ? Thinking.ThinkingTags.FromGoTemplate(Templates.OllamaTemplate.Parse(TemplateSource.Text))
            : Thinking.ThinkingTags.FromJinjaTemplate(TemplateSource.Text);
    }

    /// <summary>The model.</summary>
    public ChatModel Model => _model;

    /// <summary>The template prompts are rendered with, and its language.</summary>
    public ChatTemplateSource TemplateSource { get; }

    /// <summary>The parsed template.</summary>
    public IChatTemplate Template { get; }

    /// <summary>The model's system message (a SYSTEM layer), put first unless the conversation starts with its own.</summary>
    public string System { get; set; } = "";

    /// <summary>The model's MESSAGE layers, put before the conversation.</summary>
    public IReadOnlyList<PromptMessage> Messages { get; set; } = [];

    /// <summary>The built-in defaults with the model's parameters applied; a request's options go over these.</summary>
    public ChatParameters Parameters { get; set; } = ChatParameters.Defaults;

    /// <summary>
    /// Whether a prompt longer than the context is cut as Ollama cuts it (the first <c>num_keep</c> tokens and the last
    /// ones that leave half the rest free; Ollama's default) rather than refused with a <see cref="ChatException"/>.
    /// </summary>
    public bool TruncateLongPrompts { get; set; } = true;

    /// <summary>The tokens whose keys and values the session's own sequence (the model's cache) holds, in order.</summary>
    public IReadOnlyList<int> CachedTokens => _ownSequence.Tokens;

    /// <summary>The options a request is answered with: <see cref="Parameters"/> with its options applied.</summary>
    /// <exception cref="FormatException">An option of the wrong type.</exception>
    public ChatParameters Resolve(ChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Parameters.With(request.Options);
    }

    /// <summary>The context length a request runs with: <c>num_ctx</c>, no longer than the model was trained for.</summary>
    public int ContextLength(ChatParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var train = _model.TrainingContextLength;
        return Math.Max(1, train > 0 ? Math.Min(parameters.NumCtx, train) : parameters.NumCtx);
    }

    /// <summary>The stop sequences of a request: its <c>stop</c> option, then the chat template's end-of-turn markers.</summary>
    public IReadOnlyList<string> StopSequences(ChatParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        // The template's words are found once (matching a chat template to Ollama's named ones is not cheap).
        _templateStops ??= ChatTemplateChoice.StopWords([], _storedTemplate, _model.ChatTemplate);
        return [.. parameters.Stop.Concat(_templateStops).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The conversation the template renders: the model's system message and messages, then the request's.</summary>
    public IReadOnlyList<PromptMessage> Conversation(IReadOnlyList<PromptMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var all = new List<PromptMessage>(Messages.Count + messages.Count + 1);
        if (System.Length > 0 && (messages.Count == 0 || messages[0].Role != "system"))
        {
            all.Add(new PromptMessage("system", System));
        }
        all.AddRange(Messages);
        all.AddRange(messages);
        return all;
    }

    /// <summary>Forgets the cached prompt (the next turn evaluates its whole prompt).</summary>
    public void ClearCache() => _ownSequence.Truncate(0);

    /// <summary>
    /// Answers <paramref name="request"/>, giving the text to <paramref name="onDelta"/> as it is generated.
    /// Cancelling stops the answer between two tokens (or inside an evaluation) with an
    /// <see cref="OperationCanceledException"/>; the session stays usable.
    /// </summary>
    /// <exception cref="ChatException">The prompt does not fit the context (and <see cref="TruncateLongPrompts"/> is off).</exception>
    /// <exception cref="FormatException">An option of the wrong type.</exception>
    /// <exception cref="Templates.Go.TemplateException">The template failed.</exception>
    /// <exception cref="Templates.Jinja.JinjaException">The template failed.</exception>
    public ChatResult Chat(ChatRequest request, Action<ChatDelta>? onDelta = null, CancellationToken cancellationToken = default) =>
        Chat(request, _ownSequence, onDelta, cancellationToken);

    /// <summary>
    /// As <see cref="Chat(ChatRequest, Action{ChatDelta}?, CancellationToken)"/>, in <paramref name="sequence"/> rather
    /// than the model's own cache (a server's slot of a batch: several sessions' requests may then run at once, each in
    /// a sequence of its own).
    /// </summary>
    public ChatResult Chat(ChatRequest request, IChatSequence sequence, Action<ChatDelta>? onDelta = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sequence);
        var clock = Stopwatch.StartNew();
        var parameters = Resolve(request);
        var contextLength = ContextLength(parameters);

        // Checked before anything is evaluated: a format Ollama refuses is the request's error.
        var grammar = OutputFormat.FromOllamaFormat(request.Format);
        var prompt = OllamaPrompt.Chat(
            Template,
            new PromptRequest(Conversation(request.Messages)) { Think = request.Think, Tools = request.Tools },
            new PromptBudget(contextLength, text => Tokenize(text).Length, HasVisionProjector: _model.Vision is not null));
        return Complete(sequence, prompt.Text, prompt.Images, parameters, grammar, request.Think, onDelta, clock, cancellationToken);
    }

    /// <summary>
    /// Continues <paramref name="prompt"/>, a prompt already rendered (Ollama's <c>/api/generate</c>, raw or through a
    /// template), with the options, format and thinking of <paramref name="request"/> (its messages are not read).
    /// Otherwise as <see cref="Chat"/>.
    /// </summary>
    /// <exception cref="ChatException">The prompt does not fit the context (and <see cref="TruncateLongPrompts"/> is off).</exception>
    /// <exception cref="FormatException">An option of the wrong type.</exception>
    public ChatResult Generate(string prompt, ChatRequest request, Action<ChatDelta>? onDelta = null, CancellationToken cancellationToken = default) =>
        Generate(prompt, [], request, _ownSequence, onDelta, cancellationToken);

    /// <summary>As <see cref="Generate(string, ChatRequest, Action{ChatDelta}?, CancellationToken)"/>, in <paramref name="sequence"/>.</summary>
    public ChatResult Generate(string prompt, ChatRequest request, IChatSequence sequence, Action<ChatDelta>? onDelta = null, CancellationToken cancellationToken = default) =>
        Generate(prompt, [], request, sequence, onDelta, cancellationToken);

    /// <summary>
    /// As <see cref="Generate(string, ChatRequest, Action{ChatDelta}?, CancellationToken)"/>, with the pictures the
    /// prompt's <c>[img-N]</c> tags refer to (encoded image files: PNG, JPEG, WebP, BMP, GIF).
    /// </summary>
    /// <exception cref="ChatException">Also: pictures for a model without a vision tower, a picture that does not decode, a tag without its picture.</exception>
    public ChatResult Generate(string prompt, IReadOnlyList<byte[]> images, ChatRequest request, Action<ChatDelta>? onDelta = null, CancellationToken cancellationToken = default) =>
        Generate(prompt, images, request, _ownSequence, onDelta, cancellationToken);

    /// <summary>As <see cref="Generate(string, IReadOnlyList{byte[]}, ChatRequest, Action{ChatDelta}?, CancellationToken)"/>, in <paramref name="sequence"/>.</summary>
    public ChatResult Generate(string prompt, IReadOnlyList<byte[]> images, ChatRequest request, IChatSequence sequence, Action<ChatDelta>? onDelta = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sequence);
        var clock = Stopwatch.StartNew();
        var parameters = Resolve(request);
        var grammar = OutputFormat.FromOllamaFormat(request.Format);
        return Complete(sequence, prompt, images, parameters, grammar, request.Think, onDelta, clock, cancellationToken);
    }

    /// <summary>Evaluates the prompt and samples the answer: what <see cref="Chat"/> and <see cref="Generate"/> share.</summary>
    ChatResult Complete(IChatSequence sequence, string promptText, IReadOnlyList<byte[]> images, ChatParameters parameters, string? grammar, ThinkSetting? think, Action<ChatDelta>? onDelta, Stopwatch clock, CancellationToken cancellationToken)
    {
        var contextLength = ContextLength(parameters);
        var tokenizer = _model.Tokenizer;
        var vocabulary = tokenizer.Vocabulary;
        IReadOnlyList<PromptPiece>? pieces = null;
        int[] tokens;
        if (images.Count == 0)
        {
            tokens = FitContext(Tokenize(promptText), parameters, contextLength);
        }
        else
        {
            (pieces, tokens) = ImagePieces(promptText, images, cancellationToken);
            if (tokens.Length > contextLength - 1)
            {
                // A picture cannot be cut in half: a prompt with pictures that does not fit is refused.
                throw new ChatException($"the prompt with its pictures is {tokens.Length} positions, longer than the context of {contextLength} (num_ctx)");
            }
        }
        // The first request of the session reports the load (requests in parallel: one of them).
        var loadDuration = Interlocked.Exchange(ref _loadReported, 1) == 0 ? _model.LoadDuration : 0L;

        var promptClock = Stopwatch.StartNew();
        var evaluated = EvaluatePrompt(sequence, tokens, pieces, contextLength, parameters.NumBatch, cancellationToken);
        var promptDuration = Elapsed(promptClock);

        var sampling = parameters.ToSampling() with { Grammar = grammar };
        var chain = SamplerChainBuilder.Build(sampling, _model.Model.VocabularySize, contextLength, new TokenizerSamplingVocabulary(tokenizer));
        foreach (var token in tokens)
        {
            // llama.cpp's server accepts the prompt into the samplers (the penalties see it), not into the grammar;
            // a picture's positions have no token.
            if (token != ImagePosition)
            {
                chain.Accept(token);
            }
        }
        var thinkingParser = ThinkingParserFor(think, promptText);

        var evalClock = Stopwatch.StartNew();
        var detokenizer = new StreamingDetokenizer(tokenizer, special: false);
        var stops = new StopSequenceFilter(StopSequences(parameters));
        var content = new global::System.Text.StringBuilder();
        var thinking = new global::System.Text.StringBuilder();
        void Emit(ChatDelta delta)
        {
            if (!delta.IsEmpty)
            {
                content.Append(delta.Content);
                thinking.Append(delta.Thinking);
                onDelta?.Invoke(delta);
            }
        }
        void EmitText(string text)
        {
            if (text.Length > 0)
            {
                Emit(thinkingParser is null ? new ChatDelta("", text) : Delta(thinkingParser.AddContent(text)));
            }
        }

        var limit = parameters.PredictionLimit(contextLength);
        var keep = KeepCount(parameters, tokens.Length, contextLength);
        var single = new int[1];
        var generated = 0;
        var doneReason = DoneReasons.Length;
        while (generated < limit)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var token = chain.Sample(sequence.Logits[.._model.Model.VocabularySize]);
            generated++;
            if (vocabulary.IsEndOfGeneration(token))
            {
                doneReason = DoneReasons.Stop;
                break;
            }
            EmitText(stops.Push(detokenizer.Push(token)));
            if (stops.Stopped)
            {
                doneReason = DoneReasons.Stop;
                break;
            }
            if (generated == limit)
            {
                break;
            }
            if (sequence.Tokens.Count + 1 >= contextLength && !ShiftContext(sequence, keep, parameters.NumBatch, cancellationToken))
            {
                // Nothing can be dropped (num_keep fills the context): the answer ends here.
                break;
            }
            single[0] = token;
            sequence.Append(single, cancellationToken);
        }
        if (!stops.Stopped)
        {
            EmitText(stops.Push(detokenizer.Flush()));
            EmitText(stops.Flush());
        }

        var evalDuration = Elapsed(evalClock);
        var statistics = new ChatStatistics(Elapsed(clock) + loadDuration, loadDuration, evaluated, promptDuration, generated, evalDuration);
        return new ChatResult(content.ToString(), thinking.ToString(), doneReason, statistics);
    }

    /// <summary>
    /// The thinking parser of a request, as Ollama's chat handler sets one up: when the request asks for thinking and
    /// the template shows where thinking goes (its tags); a prompt that ends with the opening tag starts the answer
    /// inside the thinking. Null otherwise: the whole answer is content.
    /// </summary>
    ThinkingParser? ThinkingParserFor(ThinkSetting? think, string prompt)
    {
        if (think is not { Enabled: true } || ThinkingTags is not { } tags)
        {
            return null;
        }
        return ThinkingParser.ForPrompt(prompt, tags.Opening, tags.Closing);
    }

    /// <summary>The tags around the model's thinking in its template, or null when the template shows none.</summary>
    public ThinkingTags? ThinkingTags { get; }

    static ChatDelta Delta(ThinkingPiece piece) => new(piece.Thinking, piece.Content);

    static long Elapsed(Stopwatch clock) => (long)clock.Elapsed.TotalNanoseconds;

    /// <summary>
    /// As Ollama's runner tokenizes a prompt: BOS as the vocabulary says, special tokens parsed; an empty prompt is
    /// the BOS token alone. (What <c>/api/generate</c> answers as its <c>context</c>.)
    /// </summary>
    /// <exception cref="ChatException">The text is empty and the vocabulary has no BOS token.</exception>
    public int[] Tokenize(string text)
    {
        var vocabulary = _model.Tokenizer.Vocabulary;
        var tokens = _model.Tokenizer.Tokenize(text, addSpecial: true, parseSpecial: true);
        if (tokens.Length == 0 && vocabulary.Bos != Vocabulary.NoToken)
        {
            tokens = [vocabulary.Bos];
        }
        return tokens.Length > 0 ? tokens : throw new ChatException("the prompt is empty, and the vocabulary has no BOS token to start from");
    }

    /// <summary>
    /// The prompt, or, when it is longer than the context less one token, Ollama's cut of it
    /// (<c>completionPromptForRequest</c>): the first <c>num_keep</c> tokens (and BOS), then the last ones, so that
    /// half of the rest of the context is free.
    /// </summary>
    int[] FitContext(int[] tokens, ChatParameters parameters, int contextLength)
    {
        var fullPromptLimit = contextLength - 1;
        if (tokens.Length <= fullPromptLimit)
        {
            return tokens;
        }
        if (!TruncateLongPrompts)
        {
            throw new ChatException($"the prompt is {tokens.Length} tokens, longer than the context of {contextLength} (num_ctx)");
        }
        var keep = Math.Min(KeepCount(parameters, tokens.Length, contextLength), fullPromptLimit);
        var limit = contextLength <= 1 ? 0 : contextLength - Math.Max((contextLength - keep) / 2, 1);
        var discard = tokens.Length - limit;
        return [.. tokens.AsSpan(0, keep), .. tokens.AsSpan(keep + discard)];
    }

    /// <summary>The tokens a context shift keeps: <c>num_keep</c> (−1: the prompt), plus BOS when the tokenizer adds one.</summary>
    int KeepCount(ChatParameters parameters, int promptLength, int contextLength)
    {
        var keep = parameters.NumKeep < 0 ? promptLength : parameters.NumKeep;
        if (_model.Tokenizer.Vocabulary.AddBos)
        {
            keep++;
        }
        return Math.Clamp(keep, 0, Math.Max(contextLength - 1, 0));
    }

    /// <summary>
    /// Evaluates the prompt tokens <paramref name="sequence"/> does not hold yet, leaving the logits of the last one in
    /// it; returns how many were evaluated. The sequence keeps the longest prefix it shares with the prompt
    /// (<see cref="IChatSequence.Start"/>), as Ollama's runner reuses a slot.
    /// </summary>
    static int EvaluatePrompt(IChatSequence sequence, int[] tokens, IReadOnlyList<PromptPiece>? pieces, int contextLength, int batchSize, CancellationToken cancellationToken)
    {
        var common = sequence.Start(tokens, contextLength);
        if (pieces is null)
        {
            Evaluate(sequence, tokens.AsMemory(common), batchSize, cancellationToken);
        }
        else
        {
            EvaluatePieces(sequence, pieces, common, batchSize, cancellationToken);
        }
        return tokens.Length - common;
    }

    /// <summary>What <see cref="CachedTokens"/> holds for a position filled by a picture's embeddings.</summary>
    public const int ImagePosition = -1;

    /// <summary>
    /// The pieces of a prompt with pictures (<see cref="ImagePrompt.Layout"/>: text, and each picture's embeddings where
    /// its <c>[img-N]</c> tag is, BOS in front) and a token per position (<see cref="ImagePosition"/> for a picture's).
    /// </summary>
    (IReadOnlyList<PromptPiece> Pieces, int[] Positions) ImagePieces(string promptText, IReadOnlyList<byte[]> images, CancellationToken cancellationToken)
    {
        if (_model.Vision is not { } vision)
        {
            // Ollama's words for a model without a projector.
            throw new ChatException("this model is missing data required for image input");
        }
        var embeddings = new List<VisionEmbedding>(images.Count);
        for (var i = 0; i < images.Count; i++)
        {
            RgbImage picture;
            try
            {
                picture = ImageDecoder.Decode(images[i], $"image {i}");
            }
            catch (ImageFileException e)
            {
                throw new ChatException(e.Message, e);
            }
            embeddings.Add(vision.Encode(picture, cancellationToken));
        }
        IReadOnlyList<PromptPiece> pieces;
        try
        {
            pieces = ImagePrompt.Layout(promptText, embeddings, vision.Parameters.Projector, _model.Tokenizer);
        }
        catch (ArgumentException e)
        {
            throw new ChatException(e.Message, e);
        }
        var positions = new List<int>();
        foreach (var piece in pieces)
        {
            if (piece.Tokens is { } tokens)
            {
                positions.AddRange(tokens);
            }
            else
            {
                positions.AddRange(Enumerable.Repeat(ImagePosition, piece.Image!.Tokens));
            }
        }
        return (pieces, [.. positions]);
    }

    /// <summary>
    /// Evaluates the positions of <paramref name="pieces"/> from <paramref name="start"/> on (the sequence holds those
    /// before, all text: a picture's positions are never reused), keeping the logits of the last one.
    /// </summary>
    static void EvaluatePieces(IChatSequence sequence, IReadOnlyList<PromptPiece> pieces, int start, int batchSize, CancellationToken cancellationToken)
    {
        var at = 0;
        foreach (var piece in pieces)
        {
            var end = at + piece.Positions;
            if (end > start)
            {
                if (piece.Tokens is { } tokens)
                {
                    Evaluate(sequence, tokens.AsMemory(Math.Max(start - at, 0)), batchSize, cancellationToken);
                }
                else
                {
                    sequence.AppendEmbeddings(piece.Image!.Embeddings, piece.Bidirectional, cancellationToken);
                }
            }
            at = end;
        }
    }

    /// <summary>Evaluates <paramref name="tokens"/> after the cached ones, in batches of <c>num_batch</c>, keeping the last token's logits.</summary>
    static void Evaluate(IChatSequence sequence, ReadOnlyMemory<int> tokens, int batchSize, CancellationToken cancellationToken)
    {
        var batch = Math.Clamp(batchSize, 1, Math.Max(tokens.Length, 1));
        for (var start = 0; start < tokens.Length; start += batch)
        {
            sequence.Append(tokens.Slice(start, Math.Min(batch, tokens.Length - start)), cancellationToken);
        }
    }

    /// <summary>
    /// Makes room for one more token as llama.cpp's server does for Ollama: keeps the first <paramref name="keep"/>
    /// tokens, drops half of the others (the oldest), and moves the rest down. llama.cpp moves the cached keys by
    /// rotating them again; here the kept tail is evaluated again at its new positions, which gives the same
    /// sequence. False when nothing can be dropped.
    /// </summary>
    static bool ShiftContext(IChatSequence sequence, int keep, int batchSize, CancellationToken cancellationToken)
    {
        var cached = sequence.Tokens;
        var left = cached.Count - keep;
        var discard = left / 2;
        if (discard <= 0 || cached.Contains(ImagePosition))
        {
            // A picture's embeddings cannot be evaluated again from the cached tokens: the answer ends here.
            return false;
        }
        int[] tail = [.. cached.Skip(keep + discard)];
        sequence.Truncate(keep);
        if (tail.Length > 0)
        {
            Evaluate(sequence, tail, batchSize, cancellationToken);
        }
        return true;
    }
}

/// <summary>A request that cannot be answered as it is (a prompt longer than the context); the message says why.</summary>
public sealed class ChatException : Exception
{
    public ChatException()
    {
    }

    public ChatException(string message)
        : base(message)
    {
    }

    public ChatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
