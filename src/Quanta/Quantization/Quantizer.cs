using System.Diagnostics;
using System.Runtime.InteropServices;
using Quanta.Codecs;
using Quanta.Formats;
using Quanta.Formats.Gguf;

namespace Quanta.Quantization;

/// <summary>
/// Executes a <see cref="QuantizationJob"/>: streams every tensor from the input to the output, converting
/// where the plan says so. Each tensor is cut into work items of whole rows; worker threads take items in
/// order, read their rows (positioned reads, no whole-tensor buffers), convert them to float32 and encode
/// them; the calling thread writes finished items strictly in order. At most a few items per worker are in
/// flight, so memory stays a few megabytes whatever the model's size, and since every ggml quantizer works
/// row by row, the bytes are the same for any thread count. Nothing replaces the output until every file is
/// complete; a failure or cancellation deletes the temporary files.
/// </summary>
public static class Quantizer
{
    /// <summary>Items in flight per worker: one being encoded, others finished and waiting for the writer.</summary>
    const int ItemsPerWorker = 4;

    /// <summary>Quantizes, writes the output files and returns what was written.</summary>
    /// <exception cref="QuantizationException">A tensor cannot be quantized (NaN or infinity in it, ...); nothing is left behind.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left behind.</exception>
    public static QuantizationResult Run(QuantizationJob job, IProgress<QuantizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Files.Count == 0)
        {
            throw new ArgumentException("the job has no output file (it was created for a dry run)", nameof(job));
        }
        cancellationToken.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        var plan = job.Plan;
        var run = job.RunOptions;

        // Only the entries of the files written: one shard of a set (--shard I/N) reads none of the others' tensors.
        var works = new List<TensorWork>(plan.Entries.Count);
        long items = 0;
        foreach (var (file, fileIndex) in job.Files.Select((f, i) => (f, i)))
        {
            for (var i = file.FirstEntry; i < file.FirstEntry + file.EntryCount; i++)
            {
                var work = new TensorWork(i, plan.Entries[i], job.SourceOf(i), fileIndex, items, run.ChunkElements, job.ImportanceOf(i));
                works.Add(work);
                items += work.ItemCount;
            }
        }
        var sourceTotal = works.Sum(w => w.Entry.SourceBytes);

        var writerOptions = run.Writer ?? GgufWriterOptions.Default;
        writerOptions = writerOptions with
        {
            ProtectedInputs = [.. writerOptions.ProtectedInputs, .. job.Input.FilePaths],
            CancellationToken = cancellationToken,
        };

        // Every target is checked before the first file is created; the renames wait until all are complete,
        // which keeps a split set all or nothing.
        using var files = new GgufFileSet(job.Files.Select(f => f.Path), writerOptions);
        var writers = new GgufWriter[job.Files.Count];
        var written = new List<GgufTensorInfo>(works.Count);
        for (var i = 0; i < job.Files.Count; i++)
        {
            var file = job.Files[i];
            var infos = works.Where(w => w.File == i)
                .Select(w => new GgufTensorInfo(w.Entry.Name, w.Entry.Tensor.Shape, w.Entry.TargetType))
                .ToArray();
            writers[i] = files.Create(i, file.Metadata, infos);
            written.AddRange(infos);
        }

        using (var pipeline = new Pipeline([.. works], items, run.EffectiveThreads, cancellationToken))
        {
            pipeline.Start();
            long sourceDone = 0, bytesWritten = 0;
            for (var position = 0; position < works.Count; position++)
            {
                var work = works[position];
                var writer = writers[work.File];
                writer.BeginTensor(work.Entry.Name);
                var sourceStart = sourceDone;
                for (var k = 0; k < work.ItemCount; k++)
                {
                    var output = pipeline.WaitFor(work.FirstItem + k);
                    writer.WriteTensorData(output);
                    bytesWritten += output.Length;
                    pipeline.Release(work.FirstItem + k);
                    sourceDone = sourceStart + (work.ItemCount == 0 ? 0 : work.Entry.SourceBytes * (k + 1) / work.ItemCount);
                    if (k + 1 < work.ItemCount)
                    {
                        progress?.Report(new(position + 1, works.Count, work.Entry, false, sourceDone, sourceTotal, bytesWritten, clock.Elapsed));
                    }
                }
                sourceDone = sourceStart + work.Entry.SourceBytes;
                progress?.Report(new(position + 1, works.Count, work.Entry, true, sourceDone, sourceTotal, bytesWritten, clock.Elapsed));
                if (work.Index == job.Files[work.File].FirstEntry + job.Files[work.File].EntryCount - 1)
                {
                    // The file's last tensor: flush and close it now rather than holding every shard open.
                    files.Finish(work.File);
                }
            }
        }
        // A file without tensors (an empty model) is never reached by the loop above; Commit finishes it.
        files.Commit();
        clock.Stop();
        return new QuantizationResult(plan, [.. job.Files.Select(f => f.Path)], written, clock.Elapsed, job.RequantizedTensors);
    }

    /// <summary>
    /// The worker threads and the ring of item slots. Slot i % n holds item i; a semaphore with one permit per
    /// slot keeps workers from claiming an item whose slot the writer has not emptied yet, which is what bounds
    /// memory.
    /// </summary>
    sealed class Pipeline : IDisposable
    {
        readonly TensorWork[] _works;
        readonly long _itemCount;
        readonly Slot[] _slots;
        readonly SemaphoreSlim _free;
        readonly CancellationTokenSource _stop;
        readonly Thread[] _threads;
        Exception? _failure;
        long _next;

        public Pipeline(TensorWork[] works, long itemCount, int threads, CancellationToken cancellationToken)
        {
            _works = works;
            _itemCount = itemCount;
            // No more workers than items, so that a tiny model does not start threads that find nothing to do.
            var workers = (int)Math.Clamp(itemCount, 1, threads);
            _slots = new Slot[workers * ItemsPerWorker];
            for (var i = 0; i < _slots.Length; i++)
            {
                _slots[i] = new Slot();
            }
            _free = new SemaphoreSlim(_slots.Length, _slots.Length);
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _threads = new Thread[workers];
            for (var i = 0; i < workers; i++)
            {
                _threads[i] = new Thread(Work) { IsBackground = true, Name = $"quanta-encode-{i}" };
            }
        }

        public void Start()
        {
            foreach (var thread in _threads)
            {
                thread.Start();
            }
        }

        /// <summary>Blocks until item <paramref name="item"/> is encoded and returns its bytes; rethrows a worker's failure.</summary>
        public ReadOnlySpan<byte> WaitFor(long item)
        {
            var slot = _slots[item % _slots.Length];
            try
            {
                slot.Ready.Wait(_stop.Token);
            }
            catch (OperationCanceledException) when (Volatile.Read(ref _failure) is { } failure)
            {
                // A worker failed on a later item and stopped the others before this one was done.
                throw Wrap(failure);
            }
            if (slot.Error is { } error)
            {
                _stop.Cancel();
                throw Wrap(error);
            }
            Debug.Assert(slot.Item == item);
            return slot.Output.AsSpan(0, slot.OutputLength);
        }

        static Exception Wrap(Exception error) => error switch
        {
            QuantizationException or OperationCanceledException => error,
            _ => new QuantizationException(error.Message, error),
        };

        /// <summary>The writer is done with item <paramref name="item"/>: its slot may take the item one ring further on.</summary>
        public void Release(long item)
        {
            _slots[item % _slots.Length].Ready.Reset();
            _free.Release();
        }

        void Work()
        {
            var token = _stop.Token;
            try
            {
                while (!token.IsCancellationRequested)
                {
                    _free.Wait(token);
                    var item = Interlocked.Increment(ref _next) - 1;
                    if (item >= _itemCount)
                    {
                        return;
                    }
                    var slot = _slots[item % _slots.Length];
                    slot.Item = item;
                    slot.Error = null;
                    try
                    {
                        Process(item, slot);
                    }
                    catch (Exception e)
                    {
                        slot.Error = e;
                        if (e is not OperationCanceledException)
                        {
                            Interlocked.CompareExchange(ref _failure, e, null);
                        }
                        _stop.Cancel();
                    }
                    slot.Ready.Set();
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped by the writer: cancelled, or another item failed.
            }
        }

        void Process(long item, Slot slot)
        {
            var work = FindWork(item);
            var k = item - work.FirstItem;
            if (work.IsCopy || work.Encoder is null)
            {
                var start = k * TensorWork.CopyChunkBytes;
                var length = (int)Math.Min(TensorWork.CopyChunkBytes, work.Entry.SourceBytes - start);
                var output = Slot.Ensure(ref slot.Output, length);
                work.Source.Read(start, output.AsSpan(0, length));
                slot.OutputLength = length;
                return;
            }

            var firstRow = k * work.RowsPerItem;
            var rows = Math.Min(work.RowsPerItem, work.Rows - firstRow);
            var rowLength = (int)work.RowLength;
            var sourceBytes = (int)(rows * work.SourceRowBytes);
            var values = (int)(rows * rowLength);
            var targetBytes = (int)(rows * work.TargetRowBytes);

            if (work.Source.TryReadEncoded(work.Entry.TargetType, firstRow, rows, Slot.Ensure(ref slot.Output, targetBytes).AsSpan(0, targetBytes)))
            {
                slot.OutputLength = targetBytes;
                return;
            }
            var input = Slot.Ensure(ref slot.Input, sourceBytes).AsSpan(0, sourceBytes);
            work.Source.Read(firstRow * work.SourceRowBytes, input);
            ReadOnlySpan<float> floats;
            switch (work.Entry.SourceType)
            {
                case GgmlType.F32:
                    floats = MemoryMarshal.Cast<byte, float>(input);
                    break;
                case GgmlType.F16:
                    Fp16.ToFloat(MemoryMarshal.Cast<byte, ushort>(input), Slot.Ensure(ref slot.Floats, values).AsSpan(0, values));
                    floats = slot.Floats.AsSpan(0, values);
                    break;
                case GgmlType.BF16:
                    BFloat16.ToFloat(MemoryMarshal.Cast<byte, ushort>(input), Slot.Ensure(ref slot.Floats, values).AsSpan(0, values));
                    floats = slot.Floats.AsSpan(0, values);
                    break;
                default:
                    work.Decoder!.Decode(input, Slot.Ensure(ref slot.Floats, values).AsSpan(0, values));
                    floats = slot.Floats.AsSpan(0, values);
                    break;
            }
            var output2 = Slot.Ensure(ref slot.Output, targetBytes);
            try
            {
                Encode(work, floats, firstRow, rows, output2.AsSpan(0, targetBytes));
            }
            catch (NonFiniteValueException e)
            {
                var what = float.IsNaN(e.Value) ? "NaN" : float.IsPositiveInfinity(e.Value) ? "+infinity" : "-infinity";
                throw new QuantizationException(
                    $"tensor '{work.Entry.Name}' holds {what} (row {e.Row}, column {e.Column}); NaN and infinity cannot be quantized", e);
            }
            slot.OutputLength = targetBytes;
        }

        /// <summary>
        /// Encodes rows <paramref name="firstRow"/>.. of the tensor, each matrix's rows with that matrix's importance
        /// weights (llama.cpp quantizes a 3-D tensor one expert at a time, with <c>imatrix + expert · n_per_row</c>).
        /// A <see cref="NonFiniteValueException"/> carries the row's index in the whole tensor.
        /// </summary>
        static void Encode(TensorWork work, ReadOnlySpan<float> floats, long firstRow, long rows, Span<byte> output)
        {
            var rowLength = (int)work.RowLength;
            var importance = work.Importance;
            for (long done = 0; done < rows;)
            {
                var row = firstRow + done;
                var matrix = row / work.RowsPerMatrix;
                var count = importance is null || importance.Length == rowLength ? rows - done : Math.Min(rows - done, (matrix + 1) * work.RowsPerMatrix - row);
                ReadOnlySpan<float> weights = importance is null ? default
                    : importance.Length == rowLength ? importance
                    : importance.AsSpan((int)(matrix * rowLength), rowLength);
                try
                {
                    work.Encoder!.Encode(
                        floats.Slice((int)(done * rowLength), (int)(count * rowLength)), rowLength, weights,
                        output.Slice((int)(done * work.TargetRowBytes), (int)(count * work.TargetRowBytes)));
                }
                catch (NonFiniteValueException e)
                {
                    throw new NonFiniteValueException(row + e.Row, e.Column, e.Value);
                }
                done += count;
            }
        }

        TensorWork FindWork(long item)
        {
            int lo = 0, hi = _works.Length - 1;
            while (lo < hi)
            {
                var mid = (lo + hi + 1) / 2;
                if (_works[mid].FirstItem <= item)
                {
                    lo = mid;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            // Tensors with no items share their FirstItem with the next one; step over them.
            while (_works[lo].ItemCount == 0 || item >= _works[lo].FirstItem + _works[lo].ItemCount)
            {
                lo++;
            }
            return _works[lo];
        }

        public void Dispose()
        {
            _stop.Cancel();
            foreach (var thread in _threads)
            {
                if (thread.ThreadState != System.Threading.ThreadState.Unstarted)
                {
                    thread.Join();
                }
            }
            foreach (var slot in _slots)
            {
                slot.Ready.Dispose();
            }
            _free.Dispose();
            _stop.Dispose();
        }
    }

    /// <summary>One item in flight: its buffers, reused from item to item and grown when a tensor needs more.</summary>
    sealed class Slot
    {
        public readonly ManualResetEventSlim Ready = new(false);
        public byte[] Input = [];
        public float[] Floats = [];
        public byte[] Output = [];
        public int OutputLength;
        public long Item = -1;
        public Exception? Error;

        public static T[] Ensure<T>(ref T[] buffer, int length)
        {
            if (buffer.Length < length)
            {
                buffer = GC.AllocateUninitializedArray<T>(length);
            }
            return buffer;
        }
    }
}
