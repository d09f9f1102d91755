using System.Text;
using Quanta.Conversion.Tokenizers;
using Quanta.Formats.Gguf;
using Quanta.Formats.Tokenizer;
using Quanta.Store;

namespace Quanta.Tests.Store;

/// <summary>
/// A models folder shared with Ollama. Each test plays Ollama's part by writing what Ollama writes there
/// (manifest/manifest.go, manifest/layer.go, server/images.go, server/create.go) and checks that Quanta neither
/// deletes, reuses a damaged copy of, nor trips over any of it.
/// </summary>
public class SharedStoreTests
{
    /// <summary>What Ollama's WriteManifest (json.NewEncoder) writes for a nil Layers slice and an empty config layer.</summary>
    internal const string NullLayersManifest =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":\"\",\"digest\":\"\",\"size\":0},\"layers\":null}\n";

    /// <summary>A blob as Ollama leaves it: renamed from its <c>-partial</c> download, or stored by <c>POST /api/blobs</c>.</summary>
    internal static string OllamaBlob(ModelStore store, string content)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        var digest = Digests.Of(bytes);
        Directory.CreateDirectory(store.BlobsDirectory);
        File.WriteAllBytes(store.BlobPath(digest), bytes);
        return digest;
    }

    internal static string OllamaManifest(ModelStore store, string model, string json)
    {
        var path = Path.Combine(store.ManifestsDirectory, "registry.ollama.ai", "library", model, "latest");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
        return path;
    }

    static void Age(string path, TimeSpan age) => File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);

    static readonly TimeSpan TwoHours = TimeSpan.FromHours(2);

    /// <summary>Flips one byte of the blob, keeping its size: the damage a size check cannot see.</summary>
    internal static void FlipByte(ModelStore store, string digest, int fromEnd = 100)
    {
        var path = store.BlobPath(digest);
        var bytes = File.ReadAllBytes(path);
        bytes[^Math.Min(fromEnd, bytes.Length)] ^= 0x55;
        File.WriteAllBytes(path, bytes);
    }

    static ManifestLayer Layer(Manifest manifest, string mediaType) => manifest.Layers.Single(l => l.MediaType == mediaType);

    [Fact]
    public void Rm_deletes_only_the_models_own_layers_that_nothing_else_references()
    {
        using var kit = new StoreTestKit();
        var a = kit.Create("a", $"FROM {kit.Tiny}\nSYSTEM only a");
        var b = kit.Create("b", "FROM a\nSYSTEM only b");
        var fresh = OllamaBlob(kit.Store, "uploaded by POST /api/blobs, manifest not written yet");
        var old = OllamaBlob(kit.Store, "an old orphan");
        Age(kit.Store.BlobPath(old), TwoHours);
        var partial = kit.Store.BlobPath(fresh) + "-partial";
        File.WriteAllText(partial, "a download in progress");
        Age(partial, TwoHours);

        var deleted = kit.Store.Remove(ModelName.Parse("a"));

        // Its system layer only: the model layer and the config (same model, same config) are b's too.
        Assert.Equal(a.Config, b.Config);
        Assert.Equal([Layer(a, MediaTypes.System).Digest], deleted);
        Assert.True(File.Exists(kit.Store.BlobPath(b.Layers[0].Digest)));
        Assert.True(File.Exists(kit.Store.BlobPath(b.Config.Digest)));
        Assert.True(File.Exists(kit.Store.BlobPath(fresh)));
        Assert.True(File.Exists(kit.Store.BlobPath(old)));
        Assert.True(File.Exists(partial));
        StoredModel.Load(kit.Store, ModelName.Parse("b"));
    }

    [Fact]
    public void Prune_spares_young_blobs_downloads_in_progress_and_foreign_files()
    {
        using var kit = new StoreTestKit();
        var kept = kit.Create("kept", $"FROM {kit.Tiny}\nSYSTEM s");
        foreach (var layer in kept.Blobs)
        {
            Age(kit.Store.BlobPath(layer.Digest), TwoHours);
        }
        var young = OllamaBlob(kit.Store, "young orphan");
        var old = OllamaBlob(kit.Store, "old orphan");
        Age(kit.Store.BlobPath(old), TwoHours);
        var partials = new[] { kit.Store.BlobPath(young) + "-partial", kit.Store.BlobPath(old) + "-partial-0" };
        var dsStore = Path.Combine(kit.Store.BlobsDirectory, ".DS_Store");
        foreach (var file in partials.Append(dsStore))
        {
            File.WriteAllText(file, "x");
            Age(file, TimeSpan.FromDays(30));
        }
        var deadTemp = kit.Store.NewTempPath();
        File.WriteAllText(deadTemp, "left by a process that died");
        Age(deadTemp, TwoHours);

        var result = kit.Store.Prune();

        Assert.Equal([old], result!.Deleted);
        Assert.Equal("old orphan".Length, result.DeletedBytes);
        Assert.Equal([young], result.KeptYoung);
        Assert.False(File.Exists(kit.Store.BlobPath(old)));
        Assert.False(File.Exists(deadTemp));
        Assert.All(partials.Append(dsStore).Append(kit.Store.BlobPath(young)), f => Assert.True(File.Exists(f), f));
        foreach (var layer in kept.Blobs)
        {
            kit.Store.VerifyBlob(layer);
        }
    }

    [Fact]
    public void A_blob_a_new_manifest_reuses_is_touched()
    {
        using var kit = new StoreTestKit();
        var a = kit.Create("a", $"FROM {kit.Tiny}\nSYSTEM shared");
        foreach (var layer in a.Blobs)
        {
            Age(kit.Store.BlobPath(layer.Digest), TwoHours);
        }
        var start = DateTime.UtcNow.AddSeconds(-5);
        var b = kit.Create("b", $"FROM {kit.Tiny}\nSYSTEM shared");
        Assert.Equal(a.Layers.Select(l => l.Digest), b.Layers.Select(l => l.Digest));
        Assert.All(a.Layers, l => Assert.True(File.GetLastWriteTimeUtc(kit.Store.BlobPath(l.Digest)) > start));

        foreach (var layer in a.Blobs)
        {
            Age(kit.Store.BlobPath(layer.Digest), TwoHours);
        }
        kit.Store.Copy(ModelName.Parse("a"), ModelName.Parse("c"));
        Assert.All(a.Blobs, l => Assert.True(File.GetLastWriteTimeUtc(kit.Store.BlobPath(l.Digest)) > start));
    }

    [Fact]
    public void Manifests_ollama_writes_are_read_and_strays_are_skipped_with_a_warning()
    {
        using var kit = new StoreTestKit();
        var real = kit.Create("real", $"FROM {kit.Tiny}\nSYSTEM s");
        var nulls = OllamaManifest(kit.Store, "nulls", NullLayersManifest);
        var broken = OllamaManifest(kit.Store, "broken", "{\"schemaVersion\":2,\"config\":");
        Age(broken, TwoHours);
        var manifests = kit.Store.ManifestsDirectory;
        foreach (var dir in new[] { manifests, Path.Combine(manifests, "registry.ollama.ai"), Path.Combine(manifests, "registry.ollama.ai", "library"), Path.Combine(manifests, "registry.ollama.ai", "library", "real") })
        {
            File.WriteAllText(Path.Combine(dir, ".DS_Store"), "Finder");
        }

        var manifest = Manifest.FromJson(Encoding.UTF8.GetBytes(NullLayersManifest), "test");
        Assert.Empty(manifest.Layers);
        Assert.Equal("", manifest.Config.Digest);
        Assert.Empty(manifest.Blobs);
        // Go's decoder requires no field: what it leaves out is its zero value.
        var bare = Manifest.FromJson("{\"schemaVersion\":2,\"layers\":[{\"digest\":\"\"}],\"annotations\":{}}"u8, "test");
        Assert.Equal(("", "", 0L), (bare.Config.MediaType, bare.Config.Digest, bare.Config.Size));
        Assert.Equal(("", ""), (bare.Layers[0].MediaType, bare.Layers[0].Digest));
        Assert.Throws<StoreException>(() => Manifest.FromJson("{\"layers\":[{\"digest\":\"sha256:12\"}]}"u8, "test"));

        var warnings = new List<string>();
        var models = kit.Store.List(warnings.Add);
        Assert.Equal(["nulls", "real"], models.Select(m => m.Name.Model).Order());
        Assert.Equal(0, models.Single(m => m.Name.Model == "nulls").Size);
        Assert.Equal(Digests.Of(File.ReadAllBytes(nulls)), models.Single(m => m.Name.Model == "nulls").ManifestDigest);
        // Only what Ollama's manifests/*/*/*/* glob finds is looked at: the .DS_Store beside the tags, and the bad manifest.
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.Contains(Path.Combine("real", ".DS_Store"), StringComparison.Ordinal) && w.Contains("not a model name", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("'broken:latest'", StringComparison.Ordinal) && w.Contains("not a valid manifest", StringComparison.Ordinal));

        // Neither the stray files nor the bad manifest stop rm, of this model or of that one.
        Assert.Empty(kit.Store.Remove(ModelName.Parse("nulls"))!);
        var deleted = kit.Store.Remove(ModelName.Parse("real"));
        Assert.Equal(real.Blobs.Select(l => l.Digest).Order(), deleted!.Order());
        Assert.Empty(kit.Store.List());
        Assert.Empty(kit.Store.Remove(ModelName.Parse("broken"), warnings.Add)!);
        Assert.False(File.Exists(broken));
    }

    [Fact]
    public void A_manifest_being_written_keeps_every_layer()
    {
        using var kit = new StoreTestKit();
        var a = kit.Create("a", $"FROM {kit.Tiny}\nSYSTEM s");
        foreach (var layer in a.Blobs)
        {
            Age(kit.Store.BlobPath(layer.Digest), TwoHours);
        }
        // Ollama writes a manifest in place (os.Create, then Encode): just now, it may be half written.
        OllamaManifest(kit.Store, "halfway", "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{\"media");

        var warnings = new List<string>();
        Assert.Empty(kit.Store.Prune(warnings.Add)!.Deleted);
        Assert.Empty(kit.Store.Remove(ModelName.Parse("a"), warnings.Add)!);
        Assert.Contains(warnings, w => w.Contains("may still be being written", StringComparison.Ordinal));
        Assert.Null(kit.Store.TryGetManifest(ModelName.Parse("a")));
        Assert.All(a.Blobs, l => Assert.True(File.Exists(kit.Store.BlobPath(l.Digest))));
    }

    [Fact]
    public void Create_hashes_an_existing_blob_and_rewrites_it_when_damaged()
    {
        using var kit = new StoreTestKit();
        var a = kit.Create("a", $"FROM {kit.Tiny}\nSYSTEM hello");
        var model = a.Layers[0].Digest;
        var system = Layer(a, MediaTypes.System).Digest;
        FlipByte(kit.Store, model);
        File.WriteAllText(kit.Store.BlobPath(system), "hellO");

        var statuses = new List<string>();
        var warnings = new List<string>();
        var b = kit.Create("b", $"FROM {kit.Tiny}\nSYSTEM hello", new CreateOptions { Status = statuses.Add, Warning = warnings.Add });

        Assert.Equal(a.Layers, b.Layers);
        Assert.Contains($"creating new layer {model}", statuses);
        Assert.Contains($"creating new layer {system}", statuses);
        Assert.Equal(2, warnings.Count(w => w.Contains("was corrupt", StringComparison.Ordinal)));
        foreach (var layer in b.Blobs)
        {
            Assert.Equal(layer.Digest, ModelStore.HashFile(kit.Store.BlobPath(layer.Digest)));
        }
        Assert.Equal(File.ReadAllBytes(kit.Tiny), File.ReadAllBytes(kit.Store.BlobPath(model)));
    }

    [Fact]
    public void Cp_verifies_every_layer_and_copies_the_manifest_bytes_as_ollama_does()
    {
        using var kit = new StoreTestKit();
        var a = kit.Create("a", $"FROM {kit.Tiny}\nSYSTEM s");
        var nulls = OllamaManifest(kit.Store, "nulls", NullLayersManifest);
        kit.Store.Copy(ModelName.Parse("nulls"), ModelName.Parse("nulls2"));
        Assert.Equal(File.ReadAllBytes(nulls), File.ReadAllBytes(kit.Store.ManifestPath(ModelName.Parse("nulls2"))));

        FlipByte(kit.Store, a.Layers[0].Digest);
        var e = Assert.Throws<CorruptBlobException>(() => kit.Store.Copy(ModelName.Parse("a"), ModelName.Parse("b")));
        Assert.Contains(a.Layers[0].Digest, e.Message, StringComparison.Ordinal);
        Assert.Null(kit.Store.TryGetManifest(ModelName.Parse("b")));
    }

    [Fact]
    public void A_verification_is_remembered_by_size_and_modification_time()
    {
        using var kit = new StoreTestKit();
        kit.Store.VerificationCacheThreshold = 0;
        var a = kit.Create("a", $"FROM {kit.Tiny}");
        var model = a.Layers[0];
        var path = kit.Store.BlobPath(model.Digest);
        kit.Store.VerifyBlob(model);
        var cache = Path.Combine(kit.Store.Root, VerifiedBlobs.FileName);
        Assert.Contains($"{model.Digest} {model.Size} {File.GetLastWriteTimeUtc(path).Ticks}", File.ReadAllLines(cache));

        // Touching (a reuse) keeps the verification, under the new time.
        kit.Store.Touch(model.Digest);
        Assert.Contains($"{model.Digest} {model.Size} {File.GetLastWriteTimeUtc(path).Ticks}", File.ReadAllLines(cache));

        // Damage that keeps both size and time is not seen without a rehash: proof the content was not read again.
        var time = File.GetLastWriteTimeUtc(path);
        FlipByte(kit.Store, model.Digest);
        File.SetLastWriteTimeUtc(path, time);
        kit.Store.VerifyBlob(model);
        var check = Assert.Single(kit.Store.VerifyModel(ModelName.Parse("a")), c => c.Problem is not null);
        Assert.Equal(model, check.Layer);
        Assert.Throws<CorruptBlobException>(() => kit.Store.VerifyBlob(model));

        // Any rewrite changes the time, and the blob is hashed again.
        File.Copy(kit.Tiny, path, overwrite: true);
        kit.Store.VerifyBlob(model);
        FlipByte(kit.Store, model.Digest);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(5));
        Assert.Throws<CorruptBlobException>(() => kit.Store.VerifyBlob(model));
    }

    [Fact]
    public void Text_layers_follow_ollamas_create()
    {
        using var kit = new StoreTestKit();
        kit.Create("base", $"FROM {kit.Tiny}\nTEMPLATE t\nSYSTEM base\nLICENSE L1\nMESSAGE user hi\nPARAMETER top_k 3");
        var derived = kit.Create("derived", "FROM base\nTEMPLATE \"\"\nSYSTEM \"\"\nLICENSE L2");

        Assert.Equal(
            [
                (MediaTypes.Model, "base:latest"), (MediaTypes.Template, "base:latest"), (MediaTypes.System, "base:latest"),
                (MediaTypes.License, "base:latest"), (MediaTypes.License, null), (MediaTypes.Params, null), (MediaTypes.Messages, "base:latest"),
            ],
            derived.Layers.Select(l => (l.MediaType, l.From)));
        var model = StoredModel.Load(kit.Store, ModelName.Parse("derived"));
        Assert.Equal(("t", "base"), (model.Template, model.System));
        Assert.Equal(["L1", "L2"], model.Licenses);

        var plain = kit.Create("plain", $"FROM {kit.Tiny}\nSYSTEM \"\"\nTEMPLATE \"\"");
        Assert.Equal([MediaTypes.Model], plain.Layers.Select(l => l.MediaType));
    }

    [Fact]
    public void Create_from_a_gguf_without_a_tokenizer_warns()
    {
        using var kit = new StoreTestKit();
        var path = kit.File("no-tokenizer.gguf");
        using (var tiny = GgufFile.Open(kit.Tiny))
        {
            var metadata = new GgufMetadata(tiny.Metadata);
            foreach (var key in tiny.Metadata.Select(kv => kv.Key).Where(k => k.StartsWith("tokenizer.", StringComparison.Ordinal)).ToList())
            {
                metadata.Remove(key);
            }
            GgufWriter.Copy(tiny, metadata, path, null);
        }
        var warnings = new List<string>();
        kit.Create("m", $"FROM {path}", new CreateOptions { Warning = warnings.Add });
        Assert.Equal([$"'{path}' has no tokenizer (no {TokenizerKeys.Model} key), so the model cannot run as is"], warnings);

        warnings.Clear();
        kit.Create("with", $"FROM {kit.Tiny}", new CreateOptions { Warning = warnings.Add });
        Assert.Empty(warnings);
    }
}
