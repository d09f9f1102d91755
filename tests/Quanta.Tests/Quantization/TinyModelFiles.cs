using Quanta.Formats.Gguf;

namespace Quanta.Tests.Quantization;

/// <summary>Variants of the tiny model written for a test: the same file with some tensor bytes changed.</summary>
internal static class TinyModelFiles
{
    /// <summary>Copies the tiny model to <paramref name="path"/>, letting <paramref name="patch"/> edit each tensor's bytes.</summary>
    public static void WriteCopy(string path, Action<string, byte[]> patch)
    {
        using var source = GgufFile.Open(ExpectedModel.TinyModel);
        using var writer = GgufWriter.Create(path, new GgufMetadata(source.Metadata), [.. source.Tensors.Select(t => t.Info)], new GgufWriterOptions { FlushToDisk = false });
        foreach (var tensor in source.Tensors)
        {
            var bytes = tensor.Data.ToArray();
            patch(tensor.Name, bytes);
            writer.WriteTensorData(bytes);
        }
        writer.Commit();
    }

    /// <summary>The tiny model with one F16 NaN in <paramref name="tensorName"/> at element <paramref name="element"/>.</summary>
    public static void WriteWithNaN(string path, string tensorName, int element)
    {
        WriteCopy(path, (name, bytes) =>
        {
            if (name == tensorName)
            {
                // 0x7E00: the canonical F16 quiet NaN.
                bytes[2 * element] = 0x00;
                bytes[2 * element + 1] = 0x7E;
            }
        });
    }
}
