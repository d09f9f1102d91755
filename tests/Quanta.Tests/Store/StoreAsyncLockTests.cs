using Quanta.Store;

namespace Quanta.Tests.Store;

/// <summary>
/// The store's lock for a server: a writer waits for a collection, and a removal's collection waits for writers,
/// without holding a thread (awaits between polls), and both give up when cancelled.
/// </summary>
public sealed class StoreAsyncLockTests
{
    [Fact]
    public async Task A_writer_waits_for_a_collection_to_end_and_can_be_cancelled()
    {
        using var kit = new StoreTestKit();
        var collector = kit.Store.TryEnterCollector(TimeSpan.Zero)!;
        Assert.NotNull(collector);

        var writer = kit.Store.EnterWriterAsync().AsTask();
        await Task.Delay(100);
        Assert.False(writer.IsCompleted);
        using (var cancelled = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => kit.Store.EnterWriterAsync(cancelled.Token).AsTask());
        }

        collector.Dispose();
        using var held = await writer.WaitAsync(TimeSpan.FromSeconds(10));
        // Writers share the lock; a collection cannot start while one holds it.
        using (await kit.Store.EnterWriterAsync())
        {
            Assert.Null(await kit.Store.TryEnterCollectorAsync(TimeSpan.FromMilliseconds(60)));
        }
    }

    [Fact]
    public async Task RemoveAsync_removes_the_name_at_once_and_its_layers_once_writers_are_done()
    {
        using var kit = new StoreTestKit();
        var manifest = kit.Create("m", $"FROM {kit.Tiny}\nSYSTEM s");

        // No writer: as Remove, every own layer goes.
        var deleted = await kit.Store.RemoveAsync(ModelName.Parse("m"));
        Assert.Equal(manifest.Blobs.Select(b => b.Digest).Order(StringComparer.Ordinal), deleted!.Order(StringComparer.Ordinal));
        Assert.Empty(Directory.EnumerateFiles(kit.Store.BlobsDirectory));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => kit.Store.RemoveAsync(ModelName.Parse("m")));

        // A writer holding the store for longer than the wait: the name goes, the layers stay for prune.
        kit.Create("m", $"FROM {kit.Tiny}\nSYSTEM s");
        using (kit.Store.EnterWriter())
        {
            var started = DateTime.UtcNow;
            Assert.Null(await kit.Store.RemoveAsync(ModelName.Parse("m")));
            Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(4.5));
        }
        Assert.Null(kit.Store.TryGetManifest(ModelName.Parse("m")));
        Assert.NotEmpty(Directory.EnumerateFiles(kit.Store.BlobsDirectory));
    }

    [Fact]
    public async Task ImportStreamAsync_keeps_only_bytes_that_hash_to_the_digest()
    {
        using var kit = new StoreTestKit();
        var bytes = File.ReadAllBytes(kit.Tiny);
        var digest = Digests.Of(bytes);

        await Assert.ThrowsAsync<DigestMismatchException>(() => kit.Store.ImportStreamAsync(new MemoryStream(bytes[..^1]), digest));
        Assert.Empty(Directory.EnumerateFiles(kit.Store.BlobsDirectory));

        var blob = await kit.Store.ImportStreamAsync(new MemoryStream(bytes), "sha256-" + digest[7..].ToUpperInvariant());
        Assert.Equal(digest, blob.Digest);
        Assert.Equal(bytes.Length, blob.Size);
        Assert.Equal(bytes, File.ReadAllBytes(kit.Store.BlobPath(digest)));
        Assert.Equal([Path.GetFileName(kit.Store.BlobPath(digest))], Directory.EnumerateFiles(kit.Store.BlobsDirectory).Select(Path.GetFileName));
    }
}
