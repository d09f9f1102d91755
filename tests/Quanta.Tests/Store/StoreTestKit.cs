using System.Text;
using Quanta.Store;
using Quanta.Tests.Formats.Gguf;

namespace Quanta.Tests.Store;

/// <summary>A scratch store with the tiny model and a few helpers.</summary>
internal sealed class StoreTestKit : IDisposable
{
    readonly TempDirectory _dir = new();

    public StoreTestKit()
    {
        Store = new ModelStore(_dir.File("store"));
        System.IO.File.Copy(GgufTestFiles.TinyLlama, Tiny);
    }

    public ModelStore Store { get; }

    public string Tiny => _dir.File("tiny.gguf");

    public string Directory => _dir.Path;

    public string File(string name) => _dir.File(name);

    public Manifest Create(string name, string modelfile, CreateOptions? options = null, CancellationToken cancellationToken = default) =>
        ModelCreator.Create(Store, ModelName.Parse(name), Modelfile.Parse(modelfile), _dir.Path, options, cancellationToken);

    /// <summary>Sets a blob's modification time <paramref name="age"/> into the past, as if written then.</summary>
    public void Age(string digest, TimeSpan age) => System.IO.File.SetLastWriteTimeUtc(Store.BlobPath(digest), DateTime.UtcNow - age);

    /// <summary>Everything list and show see, plus every blob's name and whether its content matches it.</summary>
    public string Snapshot()
    {
        var sb = new StringBuilder();
        foreach (var model in Store.List())
        {
            sb.AppendLine($"{model.Name} {model.ManifestDigest} {model.Size}");
            sb.AppendLine(StoredModel.Load(Store, model.Name).ToModelfile());
        }
        if (System.IO.Directory.Exists(Store.BlobsDirectory))
        {
            foreach (var file in System.IO.Directory.EnumerateFiles(Store.BlobsDirectory).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(file);
                var ok = name.StartsWith("sha256-", StringComparison.Ordinal) && ModelStore.HashFile(file) == name.Replace('-', ':');
                sb.AppendLine($"{name} {(ok ? "ok" : "BAD")}");
            }
        }
        return sb.ToString();
    }

    public void Dispose() => _dir.Dispose();
}
