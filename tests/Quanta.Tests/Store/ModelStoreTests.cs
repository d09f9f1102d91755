using System.Text;
using Quanta.Quantization;
using Quanta.Store;

namespace Quanta.Tests.Store;

public class ModelStoreTests
{
    static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "store", name));

    [Fact]
    public void Manifest_json_matches_ollamas_field_names_order_and_media_types()
    {
        var d = (char c) => "sha256:" + new string(c, 64);
        var manifest = new Manifest
        {
            Config = new ManifestLayer { MediaType = MediaTypes.Config, Digest = d('1'), Size = 485 },
            Layers =
            [
                new ManifestLayer { MediaType = MediaTypes.Model, Digest = d('2'), Size = 4920734272, From = "llama3.1:8b" },
                new ManifestLayer { MediaType = MediaTypes.Projector, Digest = d('3'), Size = 851251104 },
                new ManifestLayer { MediaType = MediaTypes.Adapter, Digest = d('4'), Size = 1000 },
                new ManifestLayer { MediaType = MediaTypes.Template, Digest = d('5'), Size = 1462 },
                new ManifestLayer { MediaType = MediaTypes.System, Digest = d('6'), Size = 20 },
                new ManifestLayer { MediaType = MediaTypes.License, Digest = d('7'), Size = 12320 },
                new ManifestLayer { MediaType = MediaTypes.Params, Digest = d('8'), Size = 110 },
                new ManifestLayer { MediaType = MediaTypes.Messages, Digest = d('9'), Size = 78 },
            ],
        };
        Assert.Equal(Fixture("manifest.json"), Encoding.UTF8.GetString(manifest.ToJson()));
        Assert.Equal(manifest.Layers, Manifest.FromJson(Encoding.UTF8.GetBytes(Fixture("manifest.json")), "fixture").Layers);
    }

    [Fact]
    public void Config_json_matches_ollamas_field_names_and_order()
    {
        var config = new ModelConfig
        {
            ModelFamily = "llama",
            ModelFamilies = ["llama", "clip"],
            ModelType = "8.0B",
            FileType = "Q4_K_M",
        };
        Assert.Equal(Fixture("config.json"), Encoding.UTF8.GetString(config.ToJson()));
    }

    [Fact]
    public void Params_json_is_escaped_and_sorted_as_go_writes_it()
    {
        var parameters = Modelfile.Parse("FROM x\nPARAMETER top_k 40\nPARAMETER temperature 0.7\nPARAMETER stop <|start_header_id|>\nPARAMETER stop <|eot_id|>").Parameters;
        Assert.Equal(Fixture("params.json"), Encoding.UTF8.GetString(parameters.ToJson()));
    }

    [Theory]
    [InlineData(8_030_261_248, "8.0B")]
    [InlineData(494_032_768, "494.03M")]
    [InlineData(3_000_000_000, "3B")]
    [InlineData(3_410_000, "3.41M")]
    [InlineData(12_345, "12K")]
    [InlineData(999, "999")]
    public void Parameter_counts_read_as_ollama_prints_them(long count, string expected) =>
        Assert.Equal(expected, ModelCreator.HumanNumber(count));

    [Fact]
    public void Create_writes_ollamas_layout()
    {
        using var kit = new StoreTestKit();
        var manifest = kit.Create("team/llama:v1", $"FROM {kit.Tiny}\nSYSTEM hi\nPARAMETER temperature 0.5");
        Assert.True(File.Exists(Path.Combine(kit.Store.Root, "manifests", "registry.ollama.ai", "team", "llama", "v1")));
        foreach (var layer in manifest.Blobs)
        {
            Assert.Equal(layer.Digest, ModelStore.HashFile(kit.Store.BlobPath(layer.Digest)));
            Assert.Equal(layer.Size, new FileInfo(kit.Store.BlobPath(layer.Digest)).Length);
        }
        Assert.Equal([MediaTypes.Model, MediaTypes.System, MediaTypes.Params], manifest.Layers.Select(l => l.MediaType));
        var config = kit.Store.GetConfig(manifest);
        Assert.Equal(("gguf", "llama", "F16"), (config.ModelFormat, config.ModelFamily, config.FileType));
        // The model layer is the file, byte for byte.
        Assert.Equal(File.ReadAllBytes(kit.Tiny), File.ReadAllBytes(kit.Store.BlobPath(manifest.Layers[0].Digest)));
        Assert.Empty(Directory.EnumerateFiles(kit.Store.BlobsDirectory, ".*"));
    }

    [Fact]
    public void Identical_layers_are_stored_once()
    {
        using var kit = new StoreTestKit();
        var a = kit.Create("a", $"FROM {kit.Tiny}\nSYSTEM same");
        var statuses = new List<string>();
        var b = kit.Create("b", $"FROM {kit.Tiny}\nSYSTEM same", new CreateOptions { Status = statuses.Add });
        Assert.Equal(a.Layers, b.Layers);
        Assert.Contains($"using existing layer {a.Layers[0].Digest}", statuses);
        Assert.Equal(["success"], statuses.TakeLast(1));
        Assert.Equal(3, Directory.EnumerateFiles(kit.Store.BlobsDirectory).Count());
    }

    static CreateOptions QuantizeQ8(Action<string>? status = null) => new()
    {
        Quantize = QuantizationPresets.Parse("Q8_0"),
        Run = new QuantizerOptions { Threads = 2 },
        Status = status,
    };

    /// <summary>How many fault points a create passes: the steps of a successful run.</summary>
    static List<StoreStep> StepsOf(Action<ModelStore> run, StoreTestKit kit)
    {
        var steps = new List<StoreStep>();
        kit.Store.FaultInjector = steps.Add;
        run(kit.Store);
        kit.Store.FaultInjector = null;
        return steps;
    }

    [Fact]
    public void A_failure_at_any_step_leaves_the_store_as_it_was()
    {
        using var kit = new StoreTestKit();
        kit.Create("base", $"FROM {kit.Tiny}\nSYSTEM old\nPARAMETER top_k 3");
        var modelfile = $"FROM {kit.Tiny}\nSYSTEM new\nTEMPLATE t\nLICENSE l\nMESSAGE user u\nPARAMETER top_k 4";

        // Count the steps on a throw-away copy of the store state, then fail at each one in turn, both
        // creating a new model and replacing the existing one.
        List<StoreStep> steps;
        using (var probe = new StoreTestKit())
        {
            probe.Create("base", $"FROM {probe.Tiny}\nSYSTEM old\nPARAMETER top_k 3");
            steps = StepsOf(_ => probe.Create("new", modelfile.Replace(kit.Tiny, probe.Tiny, StringComparison.Ordinal), QuantizeQ8()), probe);
        }
        Assert.Equal(Enum.GetValues<StoreStep>(), steps.Distinct().Order());
        var count = steps.Count;

        var before = kit.Snapshot();
        foreach (var target in new[] { "new", "base" })
        {
            for (var k = 0; k < count; k++)
            {
                var n = 0;
                var failAt = k;
                kit.Store.FaultInjector = step =>
                {
                    if (n++ == failAt)
                    {
                        throw new IOException($"No space left on device (injected at {step})");
                    }
                };
                var e = Assert.Throws<IOException>(() => kit.Create(target, modelfile, QuantizeQ8()));
                Assert.Contains("injected", e.Message, StringComparison.Ordinal);
                kit.Store.FaultInjector = null;
                Assert.Equal(before, kit.Snapshot());
            }
        }
    }

    [Fact]
    public void Cancellation_at_any_step_leaves_the_store_as_it_was()
    {
        using var kit = new StoreTestKit();
        kit.Create("base", $"FROM {kit.Tiny}\nSYSTEM old");
        var before = kit.Snapshot();
        var modelfile = $"FROM {kit.Tiny}\nSYSTEM new\nTEMPLATE t\nPARAMETER top_k 4";
        for (var k = 0; k < 7; k++)
        {
            using var cancellation = new CancellationTokenSource();
            var n = 0;
            var cancelAt = k;
            kit.Store.FaultInjector = _ =>
            {
                if (n++ == cancelAt)
                {
                    cancellation.Cancel();
                }
            };
            Assert.ThrowsAny<OperationCanceledException>(() => kit.Create("base", modelfile, QuantizeQ8(), cancellation.Token));
            kit.Store.FaultInjector = null;
            Assert.Equal(before, kit.Snapshot());
        }

        // And in the middle of quantizing.
        using (var cancellation = new CancellationTokenSource())
        {
            var options = QuantizeQ8() with
            {
                RunQuantizer = (job, token) => Quantizer.Run(job, new CancelAfter(cancellation, 5), token),
            };
            Assert.ThrowsAny<OperationCanceledException>(() => kit.Create("base", modelfile, options, cancellation.Token));
        }
        Assert.Equal(before, kit.Snapshot());
    }

    sealed class CancelAfter(CancellationTokenSource cancellation, int reports) : IProgress<QuantizationProgress>
    {
        int _seen;

        public void Report(QuantizationProgress value)
        {
            if (++_seen == reports)
            {
                cancellation.Cancel();
            }
        }
    }

    [Fact]
    public void A_corrupted_blob_is_detected_when_used_and_never_used()
    {
        using var kit = new StoreTestKit();
        var manifest = kit.Create("base", $"FROM {kit.Tiny}\nSYSTEM hello\nPARAMETER top_k 1");
        var model = kit.Store.BlobPath(manifest.Layers[0].Digest);
        var bytes = File.ReadAllBytes(model);
        bytes[^100] ^= 0x55;
        File.WriteAllBytes(model, bytes);

        var e = Assert.Throws<CorruptBlobException>(() => kit.Create("derived", "FROM base\nSYSTEM other", QuantizeQ8()));
        Assert.Contains(manifest.Layers[0].Digest, e.Message, StringComparison.Ordinal);
        Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
        Assert.Throws<CorruptBlobException>(() => kit.Create("derived", "FROM base\nSYSTEM other"));
        Assert.Null(kit.Store.TryGetManifest(ModelName.Parse("derived")));

        // A damaged text layer is caught on every read.
        var system = kit.Store.BlobPath(manifest.Layers[1].Digest);
        File.WriteAllText(system, "hellO");
        Assert.Throws<CorruptBlobException>(() => StoredModel.Load(kit.Store, ModelName.Parse("base")));
        File.Delete(system);
        Assert.Throws<CorruptBlobException>(() => StoredModel.Load(kit.Store, ModelName.Parse("base")));
    }

    [Fact]
    public void Rm_removes_the_manifest_and_collects_only_unshared_blobs()
    {
        using var kit = new StoreTestKit();
        var a = kit.Create("a", $"FROM {kit.Tiny}\nSYSTEM only a");
        var b = kit.Create("b", "FROM a\nSYSTEM only b");
        Assert.Equal(a.Layers[0] with { From = "a:latest" }, b.Layers[0]);

        // Same model, same config (Ollama's config no longer lists the layers): shared like a layer.
        Assert.Equal(a.Config, b.Config);

        var deleted = kit.Store.Remove(ModelName.Parse("a"));
        Assert.Equal([a.Layers[1].Digest], deleted);
        Assert.True(File.Exists(kit.Store.BlobPath(a.Layers[0].Digest)));
        Assert.Equal(["b"], kit.Store.List().Select(m => m.Name.Model));
        StoredModel.Load(kit.Store, ModelName.Parse("b"));

        kit.Store.Remove(ModelName.Parse("b"));
        Assert.Empty(Directory.EnumerateFiles(kit.Store.BlobsDirectory));
        Assert.Empty(Directory.EnumerateFileSystemEntries(kit.Store.ManifestsDirectory));
        Assert.Throws<ModelNotFoundException>(() => kit.Store.Remove(ModelName.Parse("b")));
    }

    [Fact]
    public void Collection_waits_for_writers_and_never_takes_their_blobs()
    {
        using var kit = new StoreTestKit();
        var orphan = kit.Store.AddBlob("orphan"u8);
        kit.Age(orphan.Digest, TimeSpan.FromHours(2));
        using (kit.Store.EnterWriter())
        {
            // A create in progress: no collection may run.
            Assert.Null(kit.Store.DeleteUnreferenced([orphan.Digest], TimeSpan.Zero));
            Assert.True(File.Exists(kit.Store.BlobPath(orphan.Digest)));
        }
        Assert.Equal([orphan.Digest], kit.Store.Prune()!.Deleted);
    }

    [Fact]
    public void Concurrent_creates_do_not_corrupt_each_other()
    {
        using var kit = new StoreTestKit();
        var names = Enumerable.Range(0, 6).Select(i => $"m{i % 3}").ToArray();
        Parallel.ForEach(names, new ParallelOptions { MaxDegreeOfParallelism = 6 }, (name, _, i) =>
            kit.Create(name, $"FROM {kit.Tiny}\nSYSTEM model {name}\nPARAMETER seed {i % 3}", QuantizeQ8()));
        var models = kit.Store.List();
        Assert.Equal(["m0", "m1", "m2"], models.Select(m => m.Name.Model).Order());
        foreach (var model in models)
        {
            var stored = StoredModel.Load(kit.Store, model.Name);
            Assert.Equal($"model {model.Name.Model}", stored.System);
            foreach (var layer in stored.Manifest.Blobs)
            {
                kit.Store.VerifyBlob(layer);
            }
        }
        // One quantized model blob shared by all, no temporary files left.
        Assert.Single(models.Select(m => StoredModel.Load(kit.Store, m.Name).ModelPath).Distinct());
        Assert.Empty(Directory.EnumerateFiles(kit.Store.BlobsDirectory, ".*"));
        Assert.DoesNotContain("BAD", kit.Snapshot(), StringComparison.Ordinal);
    }

    [Fact]
    public void Names_match_ignoring_case_like_ollama()
    {
        using var kit = new StoreTestKit();
        kit.Create("Team/Llama:V1", $"FROM {kit.Tiny}");
        Assert.NotNull(kit.Store.TryGetManifest(ModelName.Parse("team/llama:v1")));
        kit.Create("team/llama:v1", $"FROM {kit.Tiny}\nSYSTEM replaced");
        Assert.Single(kit.Store.List());
    }
}
