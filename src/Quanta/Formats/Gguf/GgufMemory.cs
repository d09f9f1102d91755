using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Quanta.Formats.Gguf;

/// <summary>Bytes of a GGUF file held for reading: a read-only memory mapping, or a pinned array in tests.</summary>
internal abstract unsafe class GgufMemory : IDisposable
{
    public abstract byte* Pointer { get; }

    public abstract long Length { get; }

    /// <summary>True when the bytes come from a file on disk (and can be read with positioned reads too).</summary>
    public abstract bool IsFile { get; }

    public abstract void Dispose();

    /// <summary>
    /// Asks the OS to map the pages of bytes <paramref name="offset"/>..+<paramref name="length"/> now, in one call, as
    /// llama.cpp's loader does with <c>MAP_POPULATE</c>: weights about to be multiplied are read whole, and page faults
    /// taken one by one during the first forward pass cost far more on a virtual machine. Best effort: where the OS
    /// cannot (not Linux, a kernel before 5.14), it only reads ahead or does nothing.
    /// </summary>
    public virtual void Prefault(long offset, long length)
    {
    }

    /// <summary>Maps a file read-only. Empty files cannot be mapped; the caller refuses them first.</summary>
    public static GgufMemory Map(string path) => new Mapped(path);

    /// <summary>
    /// Maps a file for a format reader. A failure to open or map it becomes <paramref name="cannotOpen"/>'s exception,
    /// given the message <c>cannot open: …</c> and the cause. <paramref name="checkLength"/> sees the file's length
    /// before it is mapped and throws for one the format cannot hold; it must throw for 0, which the mapper refuses.
    /// </summary>
    public static GgufMemory MapFile(string path, Func<string, Exception, Exception> cannotOpen, Action<long> checkLength)
    {
        long length;
        try
        {
            length = FileLength.Of(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw cannotOpen($"cannot open: {e.Message}", e);
        }
        checkLength(length);
        try
        {
            return Map(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw cannotOpen($"cannot open: {e.Message}", e);
        }
    }

    public static GgufMemory Pin(byte[] bytes) => new Pinned(bytes);

    sealed class Mapped : GgufMemory
    {
        readonly MemoryMappedFile _file;
        readonly MemoryMappedViewAccessor _view;
        readonly byte* _pointer;
        readonly byte* _mapping;

        public Mapped(string path)
        {
            // FileShare.Delete lets a writer replace the file by rename while a reader still maps the old one.
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            try
            {
                Length = stream.Length;
                _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _mapping = p;
            _pointer = p + _view.PointerOffset;
        }

        public override void Prefault(long offset, long length)
        {
            if (!OperatingSystem.IsLinux() || length <= 0)
            {
                return;
            }
            // madvise takes whole pages: from the page that holds the first byte to the end of the last.
            long page = Environment.SystemPageSize;
            var start = (_pointer - _mapping + offset) / page * page;
            var end = Math.Min(_pointer - _mapping + Length, _pointer - _mapping + offset + length);
            const int willNeed = 3, populateRead = 22;
            if (Madvise(_mapping + start, (nuint)(end - start), populateRead) != 0)
            {
                _ = Madvise(_mapping + start, (nuint)(end - start), willNeed);
            }
        }

        [DllImport("libc", EntryPoint = "madvise")]
        static extern int Madvise(byte* address, nuint length, int advice);

        public override byte* Pointer => _pointer;

        public override long Length { get; }

        public override bool IsFile => true;

        public override void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }

    sealed class Pinned(byte[] bytes) : GgufMemory
    {
        GCHandle _handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);

        public override byte* Pointer => (byte*)_handle.AddrOfPinnedObject();

        public override long Length => bytes.Length;

        public override bool IsFile => false;

        public override void Dispose()
        {
            if (_handle.IsAllocated)
            {
                _handle.Free();
            }
        }
    }
}
