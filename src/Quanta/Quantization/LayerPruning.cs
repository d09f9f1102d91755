using System.Globalization;
using System.Text.RegularExpressions;
using Quanta.Formats.Models;

namespace Quanta.Quantization;

/// <summary>
/// <c>--prune-layers L0,L1,...</c>: drops whole blocks and renumbers the ones after them, as llama.cpp's
/// <c>remap_layer</c> does, so that <c>blk.5</c> becomes <c>blk.4</c> when block 3 is pruned and the model
/// stays loadable with a smaller <c>{arch}.block_count</c>.
/// </summary>
public sealed partial class LayerPruning
{
    readonly int[] _pruned;

    /// <param name="layers">Block numbers to drop; sorted and de-duplicated here, as llama-quantize does.</param>
    public LayerPruning(IEnumerable<int> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        _pruned = [.. layers.Distinct().Order()];
        if (_pruned.Length == 0)
        {
            throw new ArgumentException("no layers to prune", nameof(layers));
        }
        if (_pruned[0] < 0)
        {
            throw new ArgumentException($"invalid layer id {_pruned[0]}", nameof(layers));
        }
    }

    public IReadOnlyList<int> PrunedLayers => _pruned;

    // llama.cpp's pattern: the first "blk.<digits>." anywhere in the name.
    [GeneratedRegex(@"blk\.(\d+)\.", RegexOptions.CultureInvariant)]
    private static partial Regex BlockPattern();

    /// <summary>Parses <c>3,5,7</c>; throws <see cref="FormatException"/> for an id that is not a non-negative number.</summary>
    public static LayerPruning Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        foreach (var part in text.Split(','))
        {
            if (!int.TryParse(part.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                throw new FormatException($"invalid layer id '{part}' in --prune-layers '{text}'");
            }
            ids.Add(id);
        }
        return new LayerPruning(ids);
    }

    /// <summary>
    /// The new name of every tensor (null where its block is pruned) and the new block count (llama.cpp's
    /// <c>blk_id</c>: one past the last number handed out). <paramref name="names"/> must be in
    /// <see cref="TensorOrder"/>, as llama.cpp walks its sorted tensor map: new numbers are handed out in the
    /// order blocks are first seen.
    /// </summary>
    public (string?[] Names, int BlockCount) Rename(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var mapped = new Dictionary<int, int?>();
        var nextId = 0;
        var renamed = new string?[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            var match = BlockPattern().Match(name);
            // std::stoi: digits beyond int range would throw in llama.cpp; such a name is left alone here.
            if (!match.Success || !int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var block))
            {
                renamed[i] = name;
                continue;
            }
            if (!mapped.TryGetValue(block, out var newBlock))
            {
                if (Array.BinarySearch(_pruned, block) >= 0)
                {
                    newBlock = null;
                }
                else if (block < _pruned[0])
                {
                    newBlock = block;
                    nextId = block + 1;
                }
                else
                {
                    newBlock = nextId++;
                }
                mapped[block] = newBlock;
            }
            var digits = match.Groups[1];
            renamed[i] = newBlock is { } id
                ? string.Concat(name.AsSpan(0, digits.Index), id.ToString(CultureInfo.InvariantCulture), name.AsSpan(digits.Index + digits.Length))
                : null;
        }
        return (renamed, nextId);
    }

    public override string ToString() => string.Join(',', _pruned);
}
