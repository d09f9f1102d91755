using Quanta.Formats;
using Quanta.Formats.Gguf;
using Quanta.Formats.Models;
using static Quanta.Formats.GgmlType;
using static Quanta.Formats.Gguf.LlamaFileType;

namespace Quanta.Quantization;

/// <summary>
/// llama.cpp's choice of type for each tensor (<c>src/llama-quant.cpp</c>, 2026 source): which tensors may be
/// quantized, the overrides, the preset's mix rules (<c>llama_tensor_get_type_impl</c>) and the row-length
/// fallback. Image tensors (<c>v.*</c>, <c>mm.*</c>) follow <see cref="MultimodalTensors"/>: kept in a single-file
/// model unless a component type is given, and held to the clip quantizer's rules wherever they are quantized.
/// The rules count attn_v-like and ffn tensors as they go, so one instance serves one model and
/// <see cref="Choose(string, IReadOnlyList{long}, GgmlType)"/> must be called once per tensor in
/// <see cref="TensorOrder"/>.
/// </summary>
public sealed class TensorTypeRules
{
    // Substrings that keep a tensor out of quantization (tensor_allows_quantization), with the reason shown
    // in plans. Most are small tensors where quantization saves little and costs accuracy.
    static readonly (string Part, string Why)[] SkippedParts =
    [
        ("_norm.weight", "normalization weights"),
        ("ffn_gate_inp.weight", "MoE router"),
        ("ffn_gate_tid2eid.weight", "token-to-expert routing table"),
        ("altup", "AltUp tensor (tiny)"),
        ("laurel", "LAuReL tensor (tiny)"),
        ("per_layer_model_proj", "per-layer model projection (small)"),
        ("ssm_conv1d", "SSM conv1d (small)"),
        ("shortconv.conv.weight", "short convolution (small)"),
        ("indexer.k_proj.weight", "indexer projection (tiny)"),
        ("indexer.q_proj.weight", "indexer projection (tiny)"),
        ("time_mix_first.weight", "RWKV time-mix weights (small)"),
        ("time_mix_w0.weight", "RWKV time-mix weights (small)"),
        ("time_mix_w1.weight", "RWKV time-mix weights (small)"),
        ("time_mix_w2.weight", "RWKV time-mix weights (small)"),
        ("time_mix_v0.weight", "RWKV time-mix weights (small)"),
        ("time_mix_v1.weight", "RWKV time-mix weights (small)"),
        ("time_mix_v2.weight", "RWKV time-mix weights (small)"),
        ("time_mix_a0.weight", "RWKV time-mix weights (small)"),
        ("time_mix_a1.weight", "RWKV time-mix weights (small)"),
        ("time_mix_a2.weight", "RWKV time-mix weights (small)"),
        ("time_mix_g1.weight", "RWKV time-mix weights (small)"),
        ("time_mix_g2.weight", "RWKV time-mix weights (small)"),
        ("time_mix_decay_w1.weight", "RWKV time-mix weights (small)"),
        ("time_mix_decay_w2.weight", "RWKV time-mix weights (small)"),
        ("time_mix_lerp_fused.weight", "RWKV time-mix weights (small)"),
        ("attn_rel_b.weight", "relative position bias"),
        (".position_embd", "multimodal position embeddings"),
        ("sam.pos_embd", "multimodal SAM tensor"),
        ("sam.neck.", "multimodal SAM tensor"),
        ("sam.net_", "multimodal SAM tensor"),
        (".rel_pos", "multimodal relative positions"),
        (".patch_embd", "multimodal patch embeddings"),
        (".patch_merger", "multimodal patch merger"),
        ("a.rvq.codebook", "audio codebook"),
        ("mm.a.code_embd", "audio codebook"),
    ];

    readonly ModelHyperparameters _model;
    readonly QuantizationPreset _preset;
    readonly QuantizationOptions _options;
    readonly LlamaFileType _fileType;
    readonly bool _hasTiedEmbeddings;
    readonly bool _isProjectorFile;
    readonly int _attentionVCount;
    readonly int _ffnCount;
    int _attentionVIndex;
    int _ffnDownIndex;
    int _ffnGateIndex;
    int _ffnUpIndex;

    /// <param name="model">The model's hyperparameters.</param>
    /// <param name="preset">The preset being applied.</param>
    /// <param name="options">The switches that override the preset.</param>
    /// <param name="tensorNames">Every tensor name in the model: the attn_v count and tied-embedding check look at all of them.</param>
    public TensorTypeRules(ModelHyperparameters model, QuantizationPreset preset, QuantizationOptions options, IEnumerable<string> tensorNames)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tensorNames);
        _model = model;
        _preset = preset;
        _options = options;
        _fileType = preset.FileType;
        _hasTiedEmbeddings = true;
        _isProjectorFile = model.Architecture == MultimodalTensors.ClipArchitecture;
        foreach (var name in tensorNames)
        {
            // Image tensors that skip the mix must not count either: in a single-file gemma3 the vision
            // tower's 27 attn_v would otherwise shift which text layers get more bits (Ollama hides them from
            // llama-quantize for the same reason, so the text part comes out as it does without them).
            if (!GoesThroughMix(name))
            {
                continue;
            }
            var category = TensorCategories.Of(name);
            if (category.IsAttentionVLike())
            {
                _attentionVCount++;
            }
            if (category == TensorCategory.Output)
            {
                _hasTiedEmbeddings = false;
            }
        }
        _ffnCount = model.LayerCount;
    }

    /// <summary>No <c>output.weight</c>: the token embeddings double as the output and get the output's rules.</summary>
    public bool HasTiedEmbeddings => _hasTiedEmbeddings;

    /// <summary>Tensors counted as attention values (attn_v, attn_qkv, attn_kv_b): the denominator of use_more_bits.</summary>
    public int AttentionVCount => _attentionVCount;

    /// <summary>How many tensors so far needed the row-length fallback (llama.cpp warns with this count).</summary>
    public int FallbackCount { get; private set; }

    /// <summary>Chooses the type of the next tensor, in <see cref="TensorOrder"/>.</summary>
    public TensorTypeDecision Choose(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return Choose(tensor.Name, tensor.Shape, tensor.Type);
    }

    /// <summary>Chooses the type of the next tensor, in <see cref="TensorOrder"/>.</summary>
    public TensorTypeDecision Choose(string name, IReadOnlyList<long> shape, GgmlType currentType)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (_preset.IsCopy)
        {
            return new(currentType, TensorTypeReason.CopyOnly, "COPY: no quantizing");
        }
        var component = MultimodalTensors.ComponentOf(name);
        var askedImageType = _options.TypeFor(component);
        if (component != MultimodalComponent.None && !_isProjectorFile && askedImageType is null)
        {
            return component == MultimodalComponent.VisionTower
                ? new(currentType, TensorTypeReason.VisionTensorKept, "vision tensor kept (--vision-type to quantize)")
                : new(currentType, TensorTypeReason.ProjectorTensorKept, "projector tensor kept (--projector-type to quantize)");
        }
        if (WhyNotQuantized(name, shape, _options.LeaveOutputTensor) is { } why)
        {
            return new(currentType, TensorTypeReason.NotQuantizable, why);
        }
        if (askedImageType is { } imageType)
        {
            // The per-component choice wins over the preset, its mix, --pure and --tensor-type, in both layouts:
            // it is the most specific thing the user said about these tensors.
            var (imageReason, option) = component == MultimodalComponent.VisionTower
                ? (TensorTypeReason.VisionType, "--vision-type")
                : (TensorTypeReason.ProjectorType, "--projector-type");
            return FinishImageTensor(name, shape, currentType, imageType, imageReason, $"{option} {GgmlTypeInfo.Of(imageType).Name}", null);
        }

        var category = TensorCategories.Of(name);
        // The explicit embedding and output types are used as given: llama.cpp applies no fallback to them.
        if (_options.TokenEmbeddingType is { } embeddingType && category == TensorCategory.TokenEmbedding)
        {
            return Explicit(name, shape, embeddingType, TensorTypeReason.TokenEmbeddingType, "--token-embedding-type");
        }
        if (_options.OutputTensorType is { } outputType && category == TensorCategory.Output)
        {
            return Explicit(name, shape, outputType, TensorTypeReason.OutputTensorType, "--output-tensor-type");
        }

        var type = _preset.DefaultType;
        if (!_preset.QuantizesByDefault)
        {
            return _isProjectorFile
                ? FinishImageTensor(name, shape, currentType, type, TensorTypeReason.UnquantizedPreset, $"{_preset.Name} preset", null)
                : new(type, TensorTypeReason.UnquantizedPreset, $"{_preset.Name} preset");
        }

        TensorTypeReason reason;
        string detail;
        var matched = _options.TensorTypeOverrides.FirstOrDefault(o => o.Matches(name));
        if (matched is not null)
        {
            type = matched.Type;
            reason = TensorTypeReason.TensorTypeOverride;
            detail = $"--tensor-type {matched}";
        }
        else if (_options.Pure)
        {
            reason = TensorTypeReason.Pure;
            detail = "--pure";
        }
        else
        {
            var ruled = MixRule(type, name, shape, category);
            if (_options.OutputTensorType is not null && _hasTiedEmbeddings && category == TensorCategory.TokenEmbedding)
            {
                reason = TensorTypeReason.OutputTensorType;
                detail = "--output-tensor-type (tied embeddings)";
            }
            else if (ruled == type)
            {
                reason = TensorTypeReason.PresetDefault;
                detail = $"{_preset.Name} default";
            }
            else
            {
                reason = TensorTypeReason.PresetRule;
                detail = $"{_preset.Name} rule for {DescribeCategory(category)}";
            }
            type = ruled;
        }

        if (_isProjectorFile)
        {
            return FinishImageTensor(name, shape, currentType, type, reason, detail, matched);
        }
        var resolved = TensorTypeFallback.Resolve(type, shape[0], name);
        if (resolved == type)
        {
            return new(type, reason, detail, null, matched);
        }
        FallbackCount++;
        return new(resolved, reason, detail, type, matched);
    }

    /// <summary>
    /// Whether a tensor's type comes from the preset's mix (and so counts in its attn_v / ffn tallies).
    /// Projector (clip) files are planned like llama-quantize 2026 plans them: the preset's default type
    /// and mix, with llama.cpp's view of such a file (no hyperparameters: 0 blocks, 0 heads, no experts), so
    /// e.g. Q4_K_M gives every <c>ffn_down</c> Q6_K (use_more_bits(i, 0) holds for every i) and attn_v follows
    /// its usual every-third pattern over the vision blocks. Image tensors of a single-file model never go
    /// through the mix; an explicit <c>--vision-type</c> / <c>--projector-type</c> takes its component out of it
    /// in both layouts.
    /// </summary>
    bool GoesThroughMix(string name)
    {
        var component = MultimodalTensors.ComponentOf(name);
        return component == MultimodalComponent.None || (_isProjectorFile && _options.TypeFor(component) is null);
    }

    /// <summary>
    /// The clip quantizer's rules, applied after a type was chosen for an image tensor (any tensor of a
    /// projector file, or a <c>v.*</c> / <c>mm.*</c> tensor given an explicit type): the 2-D and
    /// longer-than-a-block check, Q8_0 for embedding tables, then a row-length fallback that never aborts.
    /// </summary>
    TensorTypeDecision FinishImageTensor(
        string name, IReadOnlyList<long> shape, GgmlType currentType, GgmlType type, TensorTypeReason reason, string detail, TensorTypeOverride? matched)
    {
        if (MultimodalTensors.WhyNotQuantized(name, shape, type) is { } why)
        {
            return new(currentType, TensorTypeReason.NotQuantizable, why);
        }
        if (MultimodalTensors.ForcesQ8_0(name, type))
        {
            detail += $"; embedding table {GgmlTypeInfo.Of(type).Name} -> q8_0 (clip rule)";
            type = Q8_0;
        }
        var resolved = MultimodalTensors.ResolveRow(type, shape[0]);
        if (resolved == type)
        {
            return new(type, reason, detail, null, matched);
        }
        FallbackCount++;
        return new(resolved, reason, detail, type, matched);
    }

    /// <summary>
    /// Why llama.cpp leaves a tensor as it is (<c>tensor_allows_quantization</c>), or null when it may be
    /// quantized. COPY is handled by the caller.
    /// </summary>
    public static string? WhyNotQuantized(string name, IReadOnlyList<long> shape, bool leaveOutputTensor)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (DimensionCount(shape) < 2)
        {
            return "1-D tensor";
        }
        // llama.cpp tests `name.rfind("weight") == name.size() - 6`; with unsigned arithmetic that is also
        // true for any 5-character name (npos == 5 - 6), a quirk kept so plans match byte for byte.
        if (!name.EndsWith("weight", StringComparison.Ordinal) && name.Length != 5)
        {
            return "not a weight";
        }
        foreach (var (part, why) in SkippedParts)
        {
            if (name.Contains(part, StringComparison.Ordinal))
            {
                return why;
            }
        }
        if (leaveOutputTensor && name == "output.weight")
        {
            return "--leave-output-tensor";
        }
        // LLM_TN(arch)(POS_EMBD / TOKEN_TYPES, "weight"): the same names for every architecture in 2026.
        if (name is "position_embd.weight" or "token_types.weight")
        {
            return name == "position_embd.weight" ? "position embeddings" : "token type embeddings";
        }
        return null;
    }

    /// <summary>
    /// Whether llama.cpp refuses to write this tensor in this type without an importance matrix
    /// (<c>tensor_requires_imatrix</c>): the 1–3 bit IQ types, and Q2_K inside a Q2_K_S file; never the
    /// token embeddings or the output.
    /// </summary>
    public static bool RequiresImportanceMatrix(string name, GgmlType type, LlamaFileType fileType)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name is "token_embd.weight" or "per_layer_token_embd.weight" or "output.weight")
        {
            return false;
        }
        return type switch
        {
            IQ3_XXS or IQ2_XXS or IQ2_XS or IQ2_S or IQ1_M or IQ1_S => true,
            Q2_K => fileType == MostlyQ2_K_S,
            _ => false,
        };
    }

    /// <summary><c>ggml_n_dims</c>: dimensions up to the last one larger than 1 (trailing 1s do not count).</summary>
    public static int DimensionCount(IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        for (var i = shape.Count - 1; i >= 1; i--)
        {
            if (shape[i] > 1)
            {
                return i + 1;
            }
        }
        return 1;
    }

    static TensorTypeDecision Explicit(string name, IReadOnlyList<long> shape, GgmlType type, TensorTypeReason reason, string option)
    {
        if (!TensorTypeFallback.Fits(type, shape[0]))
        {
            throw new QuantizationException(
                $"{option} {GgmlTypeInfo.Of(type).Name} cannot hold tensor '{name}': its row length {shape[0]} is not a multiple of {GgmlTypeInfo.Of(type).BlockElements}");
        }
        return new(type, reason, option);
    }

    static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    static string DescribeCategory(TensorCategory category) => category switch
    {
        TensorCategory.Output => "the output",
        TensorCategory.TokenEmbedding => "token embeddings",
        TensorCategory.AttentionQ => "attn_q",
        TensorCategory.AttentionK => "attn_k",
        TensorCategory.AttentionV => "attn_v",
        TensorCategory.AttentionQkv => "attn_qkv",
        TensorCategory.AttentionKvB => "attn_kv_b",
        TensorCategory.AttentionOutput => "attn_output",
        TensorCategory.FfnUp => "ffn_up",
        TensorCategory.FfnGate => "ffn_gate",
        TensorCategory.FfnDown => "ffn_down",
        _ => "this tensor",
    };

    // llama_tensor_get_type_impl: the preset's mix. Branch order matters; the first that applies decides.
    GgmlType MixRule(GgmlType type, string name, IReadOnlyList<long> shape, TensorCategory category)
    {
        var ft = _fileType;
        var gqa = _model.GroupedQueryFactor;
        var experts = _model.ExpertCount;
        var imatrix = _options.HasImportanceMatrix;

        // Tied embeddings are the output too, so they get the output's (more generous) treatment.
        if (category == TensorCategory.Output || (_hasTiedEmbeddings && category == TensorCategory.TokenEmbedding))
        {
            if (_options.OutputTensorType is { } outputType)
            {
                return outputType;
            }
            if (ft == MostlyMXFP4_MoE)
            {
                return Q8_0;
            }
            if (_model.IsFalcon || !TensorTypeFallback.Fits(type, shape[0]))
            {
                return Q8_0;
            }
            if (ft is MostlyIQ2_XXS or MostlyIQ2_XS or MostlyIQ3_XXS or MostlyIQ1_S or MostlyIQ2_S or MostlyIQ2_M or MostlyIQ1_M)
            {
                return Q5_K;
            }
            return type != Q8_0 ? Q6_K : type;
        }

        if (ft == MostlyMXFP4_MoE)
        {
            // Expert tensors (3-D) go to MXFP4, everything else to Q8_0. BailingMoE3's MLA projections are 3-D
            // too, so there only the ffn roles count as experts.
            var bailing = _model.Architecture == "bailingmoe3";
            var isExpertRole = category is TensorCategory.FfnUp or TensorCategory.FfnGate or TensorCategory.FfnDown;
            return Dimension(shape, 2) > 1 && (!bailing || isExpertRole) ? MXFP4 : Q8_0;
        }

        if (category == TensorCategory.TokenEmbedding)
        {
            if (_options.TokenEmbeddingType is { } embeddingType)
            {
                return embeddingType;
            }
            return ft switch
            {
                MostlyIQ2_XXS or MostlyIQ2_XS or MostlyIQ1_S or MostlyIQ1_M => Q2_K,
                MostlyIQ2_S or MostlyIQ2_M or MostlyIQ3_XXS => IQ3_S,
                MostlyTQ1_0 or MostlyTQ2_0 or MostlyQ2_0 => Q4_K,
                _ => type,
            };
        }

        if (ft is MostlyIQ2_XXS or MostlyIQ2_XS or MostlyIQ1_S or MostlyIQ2_S or MostlyIQ2_M or MostlyIQ1_M)
        {
            return LowBitIQRule(type, category);
        }

        if (category.IsAttentionVLike())
        {
            var i = _attentionVIndex;
            var n = _attentionVCount;
            if (ft == MostlyQ2_K)
            {
                type = gqa >= 4 ? Q4_K : Q3_K;
            }
            else if (ft == MostlyQ2_K_S && gqa >= 4)
            {
                type = Q4_K;
            }
            else if (ft == MostlyIQ3_XXS)
            {
                type = gqa >= 4 ? Q4_K : !imatrix ? IQ3_S : IQ3_XXS;
            }
            else if (ft is MostlyIQ3_XS or MostlyIQ3_S && gqa >= 4)
            {
                type = Q4_K;
            }
            else if (ft == MostlyIQ3_M)
            {
                type = Q4_K;
            }
            else if (ft == MostlyQ3_K_M)
            {
                type = i < 2 ? Q5_K : Q4_K;
            }
            else if (ft == MostlyQ3_K_L)
            {
                type = Q5_K;
            }
            else if (ft is MostlyIQ4_NL or MostlyIQ4_XS && gqa >= 4)
            {
                type = Q5_K;
            }
            else if (ft is MostlyQ4_K_M or MostlyQ5_K_M && UseMoreBits(i, n))
            {
                type = Q6_K;
            }
            else if (ft == MostlyQ4_K_S && i < 4)
            {
                type = Q5_K;
            }
            // In a 70B, 8 query heads share each attn_v, which is therefore 8x smaller than attn_q: more bits
            // there cost little.
            if (_model.Is70B && type is Q3_K or Q4_K)
            {
                type = Q5_K;
            }
            if (experts == 8)
            {
                type = Q8_0;
            }
            _attentionVIndex++;
            return type;
        }

        switch (category)
        {
            case TensorCategory.AttentionK:
                if (experts == 8)
                {
                    return Q8_0;
                }
                return ft switch
                {
                    MostlyIQ3_XS => IQ3_XXS,
                    MostlyIQ3_XXS => IQ2_S,
                    _ => type,
                };
            case TensorCategory.AttentionQ:
                return ft switch
                {
                    MostlyIQ3_XS => IQ3_XXS,
                    MostlyIQ3_XXS => IQ2_S,
                    _ => type,
                };
            case TensorCategory.FfnDown:
                return FfnDownRule(type, name);
            case TensorCategory.AttentionOutput:
                return AttentionOutputRule(type);
            case TensorCategory.FfnGate:
                {
                    var (layer, layers) = LayerInfo(_ffnGateIndex, name);
                    _ffnGateIndex++;
                    return ft == MostlyIQ3_XS && layer >= layers / 8 && layer < 7 * layers / 8 ? IQ3_XXS : type;
                }
            case TensorCategory.FfnUp:
                {
                    var (layer, layers) = LayerInfo(_ffnUpIndex, name);
                    _ffnUpIndex++;
                    return ft == MostlyIQ3_XS && layer >= layers / 8 && layer < 7 * layers / 8 ? IQ3_XXS : type;
                }
            default:
                // llama.cpp also has an attn_qkv branch here, but attn_qkv takes the attn_v branch above since
                // the 2026 refactor, so that branch can no longer be reached.
                return type;
        }
    }

    // IQ2_XXS, IQ2_XS, IQ2_S, IQ2_M, IQ1_S, IQ1_M: a few tensors get enough bits to keep the model sane.
    GgmlType LowBitIQRule(GgmlType type, TensorCategory category)
    {
        var ft = _fileType;
        var iq2sm = ft is MostlyIQ2_S or MostlyIQ2_M;
        if (category.IsAttentionVLike())
        {
            type = _model.GroupedQueryFactor >= 4 || _model.ExpertCount >= 4 ? Q4_K : iq2sm ? IQ3_S : Q2_K;
            _attentionVIndex++;
        }
        else if (_model.ExpertCount == 8 && category == TensorCategory.AttentionK)
        {
            type = Q4_K;
        }
        else if (category == TensorCategory.FfnDown)
        {
            // This branch counts ffn_down tensors, not layers, even in MoE models.
            if (_ffnDownIndex < _ffnCount / 8)
            {
                type = iq2sm ? IQ3_S : Q2_K;
            }
            _ffnDownIndex++;
        }
        else if (category == TensorCategory.AttentionOutput)
        {
            if (_model.ExpertCount == 8)
            {
                type = Q5_K;
            }
            else if (ft is MostlyIQ1_S or MostlyIQ1_M)
            {
                type = IQ2_XXS;
            }
            else if (iq2sm)
            {
                type = IQ3_S;
            }
        }
        return type;
    }

    GgmlType FfnDownRule(GgmlType type, string name)
    {
        var ft = _fileType;
        var falcon = _model.IsFalcon;
        var imatrix = _options.HasImportanceMatrix;
        var (i, n) = LayerInfo(_ffnDownIndex, name);
        if (ft == MostlyQ2_K)
        {
            type = Q3_K;
        }
        else if (ft == MostlyQ2_K_S)
        {
            if (i < n / 8)
            {
                type = Q4_K;
            }
        }
        else if (ft == MostlyIQ3_XXS && !imatrix)
        {
            type = i < n / 8 ? Q4_K : Q3_K;
        }
        else if (ft == MostlyQ3_K_M)
        {
            type = i < n / 16 ? Q5_K : !falcon || UseMoreBits(i, n) ? Q4_K : Q3_K;
        }
        else if (ft == MostlyIQ3_M && (i < n / 8 || (_model.ExpertCount == 8 && UseMoreBits(i, n))))
        {
            type = Q4_K;
        }
        else if (ft == MostlyQ3_K_L)
        {
            type = falcon ? Q4_K : Q5_K;
        }
        else if (ft == MostlyQ4_K_M)
        {
            if (falcon)
            {
                type = i < n / 16 ? Q6_K : UseMoreBits(i, n) ? Q5_K : Q4_K;
            }
            else if (UseMoreBits(i, n))
            {
                type = Q6_K;
            }
        }
        else if (i < n / 8 && ft is MostlyIQ4_NL or MostlyIQ4_XS && !imatrix)
        {
            type = Q5_K;
        }
        else if (ft == MostlyQ5_K_M && UseMoreBits(i, n))
        {
            type = Q6_K;
        }
        else if (ft == MostlyQ4_K_S && !falcon && i < n / 8)
        {
            type = Q5_K;
        }
        else if (ft is MostlyQ4_0 or MostlyQ5_0 && imatrix && i < n / 8)
        {
            // Even with an importance matrix the first ffn_down layers can go wild in Q4_0/Q5_0; only with one,
            // so that a plain quantization stays what it always was.
            type = ft == MostlyQ4_0 ? Q4_1 : Q5_1;
        }
        _ffnDownIndex++;
        return type;
    }

    GgmlType AttentionOutputRule(GgmlType type)
    {
        var ft = _fileType;
        if (_model.IsFalcon)
        {
            return ft == MostlyQ3_K_L ? Q4_K : type;
        }
        if (_model.ExpertCount == 8)
        {
            return ft is MostlyQ2_K or MostlyIQ3_XS or MostlyIQ3_XXS or MostlyQ3_K_S or MostlyQ3_K_M or MostlyIQ4_NL
                or MostlyQ4_K_S or MostlyQ4_K_M or MostlyIQ3_S or MostlyIQ3_M or MostlyIQ4_XS
                ? Q5_K
                : type;
        }
        return ft switch
        {
            MostlyQ2_K => Q3_K,
            MostlyIQ3_XXS => IQ3_S,
            MostlyQ3_K_M => Q4_K,
            MostlyQ3_K_L => Q5_K,
            MostlyIQ3_M => Q4_K,
            _ => type,
        };
    }

    // Dense models count ffn tensors in visit order; in MoE models the experts of a layer are not always
    // consecutive, so the layer comes from the name.
    (int Layer, int Layers) LayerInfo(int counter, string name)
    {
        if (Math.Max(1, _model.ExpertCount) <= 1)
        {
            return (counter, _ffnCount);
        }
        if (!TensorOrder.TryGetLayer(name, out var layer))
        {
            throw new QuantizationException($"failed to determine the layer of tensor '{name}'");
        }
        if (layer < 0 || layer >= _ffnCount)
        {
            throw new QuantizationException($"bad layer {layer} for tensor '{name}': must be in [0, {_ffnCount})");
        }
        return (layer, _ffnCount);
    }

    static long Dimension(IReadOnlyList<long> shape, int index) => index < shape.Count ? shape[index] : 1;
}
