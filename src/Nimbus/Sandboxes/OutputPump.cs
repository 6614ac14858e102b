using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Nimbus.Sandboxes;

/// <summary>
/// Reads one output pipe of an instance and hands complete lines to a sink. <see cref="Drain"/> lets the invoker
/// make sure everything the runtime wrote before it posted its response has reached the sink, so a log tail is
/// never missing the last lines.
/// </summary>
/// <remarks>
/// The pipe's read end is non-blocking and the pump waits for data with poll(2) on a thread of its own (a
/// blocking read would hold a thread-pool thread per pipe: two per instance, which starved the pool when a
/// burst started dozens of instances). Reading and handing lines to the sink happen under <see cref="_lock"/>,
/// by the pump or by <see cref="Drain"/>, which reads whatever is left in the pipe itself: once it returns, every
/// byte written to the pipe before the call has been delivered, at the cost of one read(2) that finds the pipe
/// empty. The runtime clients write their output synchronously before posting a response, so the response's
/// arrival orders it.
/// </remarks>
internal sealed partial class OutputPump
{
    private const int MaxLineBytes = 256 * 1024;
    private const int ReadBufferBytes = 16 * 1024;

    // A drain reads at most this much (1 MiB): a runtime that never stops writing cannot hold the invoker.
    private const int MaxDrainReads = 64;

    private readonly SafePipeHandle _handle;
    private readonly Func<string, ValueTask> _sink;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Guards the fd reads, the buffers and the sink calls: the pump thread and Drain both take it.
    private readonly Lock _lock = new();
    private readonly byte[] _buffer = new byte[ReadBufferBytes];
    private readonly byte[] _line = new byte[MaxLineBytes];
    private int _lineLength;
    private bool _ended;

    public OutputPump(Stream stream, Func<string, ValueTask> sink)
    {
        _sink = sink;
        _handle = (stream as PipeStream)?.SafePipeHandle ?? throw new ArgumentException("Output pumps read pipes.", nameof(stream));
        var thread = new Thread(Run, maxStackSize: 256 * 1024) { IsBackground = true, Name = "Nimbus output pump" };
        thread.Start();
    }

    /// <summary>Completes once the pipe has reached its end (every writer closed it) and the last line is out.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Delivers every byte the pipe holds now; returns at once when it is empty.</summary>
    public void Drain()
    {
        lock (_lock)
        {
            if (!_ended && ReadLocked(MaxDrainReads))
            {
                _ended = true;
                FlushPartialLineLocked();
            }
        }
    }

    private void Run()
    {
        var added = false;
        try
        {
            // The fd stays open while the pump uses it even if the process object is disposed meanwhile.
            _handle.DangerousAddRef(ref added);
            var fd = (int)_handle.DangerousGetHandle();
            SetNonBlocking(fd);
            while (true)
            {
                var poll = new PollFd { Fd = fd, Events = PollIn };
                var ready = Poll(ref poll, 1, -1);
                if (ready < 0 && Marshal.GetLastPInvokeError() == Eintr)
                {
                    continue;
                }

                lock (_lock)
                {
                    if (ready < 0 || _ended || ReadLocked(1))
                    {
                        _ended = true;
                        FlushPartialLineLocked();
                        break;
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The process went away before the pump started.
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }

            _completion.TrySetResult();
        }
    }

    /// <summary>
    /// Reads until the pipe is empty or <paramref name="maxReads"/> reads returned data, handing out complete
    /// lines; true at the pipe's end.
    /// </summary>
    private bool ReadLocked(int maxReads)
    {
        var fd = (int)_handle.DangerousGetHandle();
        while (true)
        {
            var read = Read(fd, _buffer, _buffer.Length);
            if (read > 0)
            {
                Consume(_buffer.AsSpan(0, (int)read));
                if (--maxReads == 0)
                {
                    return false;
                }

                continue;
            }

            if (read == 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == Eintr)
            {
                continue;
            }

            // EAGAIN: empty for now. Anything else: the pipe is unusable, treat it as ended.
            return errno != Eagain;
        }
    }

    private void Consume(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            var take = newline < 0 ? data.Length : newline;
            var room = MaxLineBytes - _lineLength;
            if (take > room)
            {
                take = room;
                newline = -1;
            }

            data[..take].CopyTo(_line.AsSpan(_lineLength));
            _lineLength += take;
            data = data[(newline < 0 ? take : take + 1)..];
            if (newline >= 0 || _lineLength == MaxLineBytes)
            {
                Emit();
            }
        }
    }

    private void FlushPartialLineLocked()
    {
        if (_lineLength > 0)
        {
            Emit();
        }
    }

    private void Emit()
    {
        var length = _lineLength;
        if (length > 0 && _line[length - 1] == (byte)'\r')
        {
            length--;
        }

        var text = Encoding.UTF8.GetString(_line, 0, length);
        _lineLength = 0;

        // The sink (the log store's bounded channel) completes synchronously unless it is full; then waiting
        // here slows the chatty function's pipe instead of dropping its lines.
        var written = _sink(text);
        if (!written.IsCompletedSuccessfully)
        {
            written.AsTask().GetAwaiter().GetResult();
        }
    }

    private static void SetNonBlocking(int fd)
    {
        var flags = Fcntl(fd, FGetFl, 0);
        if (flags < 0 || Fcntl(fd, FSetFl, flags | ONonBlock) < 0)
        {
            throw new IOException($"Could not make an instance's output pipe non-blocking (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    private const int Eintr = 4;
    private const int Eagain = 11;
    private const short PollIn = 0x001;
    private const int FGetFl = 3;
    private const int FSetFl = 4;
    private const int ONonBlock = 0x800;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, [Out] byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);
}
