using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Quanta.Cli.Rendering;
using Quanta.Formats.Gguf;
using Quanta.Store;

namespace Quanta.Cli.Commands;

/// <summary>
/// The <c>inspect --json</c> document. Written by hand with <see cref="Utf8JsonWriter"/> rather than by
/// serialising objects: the layout is a contract with scripts, GGUF values need per-type handling (NaN,
/// u64, nested arrays), and no reflection keeps the tool trimmable.
/// </summary>
internal static class InspectJson
{
    public static void Write(TextWriter output, GgufFile model, ModelSummary summary, bool includeTensors)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps tokens such as "<s>" and non-ASCII text readable; this is not HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("path", model.Path);
            json.WriteString("architecture", summary.Architecture);
            json.WriteString("name", summary.Name);
            json.WriteNumber("parameterCount", summary.ParameterCount);
            WriteFileType(json, summary.FileType);
            json.WriteNumber("fileSize", model.FileSize);
            json.WriteNumber("ggufVersion", model.Version);
            json.WriteNumber("alignment", model.Alignment);
            json.WriteNumber("tensorCount", model.Tensors.Count);
            json.WriteNumber("tensorBytes", summary.TensorBytes);
            WriteNullableNumber(json, "bitsPerWeight", summary.BitsPerWeight);
            json.WriteBoolean("split", model.IsSplit);

            json.WriteStartArray("files");
            foreach (var file in summary.Files)
            {
                json.WriteStartObject();
                json.WriteString("path", file.Path);
                json.WriteNumber("size", file.Size);
                json.WriteNumber("tensors", file.Tensors);
                json.WriteEndObject();
            }
            json.WriteEndArray();

            json.WriteStartArray("tensorTypes");
            foreach (var t in summary.TypeTotals)
            {
                json.WriteStartObject();
                json.WriteString("type", InspectCommand.TypeName(t.Type));
                json.WriteNumber("tensors", t.Tensors);
                json.WriteNumber("elements", t.Elements);
                json.WriteNumber("bytes", t.Bytes);
                json.WriteNumber("bitsPerWeight", t.BitsPerWeight);
                json.WriteEndObject();
            }
            json.WriteEndArray();

            // An object keyed by metadata key, in file order: jq '.metadata["general.architecture"].value' works.
            json.WriteStartObject("metadata");
            foreach (var (key, value) in model.Metadata)
            {
                json.WriteStartObject(key);
                json.WriteString("type", GgufValueTypes.Name(value.Type));
                json.WritePropertyName("value");
                GgufValueJson.Write(json, value.RawValue, GgufJsonStyle.Inspect);
                json.WriteEndObject();
            }
            json.WriteEndObject();

            if (includeTensors)
            {
                json.WriteStartArray("tensors");
                foreach (var tensor in model.Tensors)
                {
                    json.WriteStartObject();
                    json.WriteString("name", tensor.Name);
                    json.WriteStartArray("shape");
                    foreach (var dim in tensor.Shape)
                    {
                        json.WriteNumberValue(dim);
                    }
                    json.WriteEndArray();
                    json.WriteString("type", InspectCommand.TypeName(tensor.Type));
                    json.WriteNumber("bytes", tensor.ByteSize);
                    json.WriteNumber("offset", tensor.Info.Offset);
                    if (model.IsSplit)
                    {
                        json.WriteString("file", tensor.FilePath);
                    }
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    static void WriteFileType(Utf8JsonWriter json, long? fileType)
    {
        if (fileType is not { } value)
        {
            json.WriteNull("fileType");
            return;
        }
        json.WriteStartObject("fileType");
        json.WriteNumber("value", value);
        if (LlamaFileTypes.TryGetName(value, out var name))
        {
            json.WriteString("name", name);
        }
        else
        {
            json.WriteNull("name");
        }
        json.WriteString("description", LlamaFileTypes.Describe(value));
        json.WriteString("llamaCpp", LlamaFileTypes.LlamaCppName(value));
        json.WriteEndObject();
    }

    static void WriteNullableNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
