namespace Quanta.Tests.Inference.Vision;

/// <summary>A fresh folder under the temp directory, deleted with everything in it.</summary>
internal sealed class TemporaryDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("quanta-vision-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still mapped on another platform; the temp folder is cleaned eventually.
        }
    }
}
