using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Text;

namespace Nimbus.Sandboxes;

/// <summary>
/// Reads one output pipe of an instance and hands complete lines to a sink. <see cref="DrainAsync"/> lets the
/// invoker wait until everything the runtime wrote before it posted its response has reached the sink, so a
/// log tail is never missing the last lines; it asks the kernel how many bytes are still unread (FIONREAD).
/// </summary>
internal sealed partial class OutputPump
{
    private const int MaxLineBytes = 256 * 1024;
    private const uint Fionread = 0x541B;

    private readonly Stream _stream;
    private readonly SafeHandle? _handle;
    private readonly Func<string, ValueTask> _sink;
    private readonly byte[] _line = new byte[MaxLineBytes];
    private int _lineLength;

    // 1 while bytes taken from the pipe have not yet all reached the sink. Written by the pump only.
    private volatile int _busy;
    private long _chunks;

    public OutputPump(Stream stream, Func<string, ValueTask> sink)
    {
        _stream = stream;
        _sink = sink;
        _handle = (stream as PipeStream)?.SafePipeHandle;
        Completion = Task.Run(RunAsync);
    }

    public Task Completion { get; }

    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + 250;
        while (!Completion.IsCompleted && Environment.TickCount64 < deadline)
        {
            var chunks = Interlocked.Read(ref _chunks);
            if (_busy == 0 && Unread() == 0)
            {
                // Bytes can sit between the kernel and the pump's continuation for a moment: look twice.
                await Task.Yield();
                if (_busy == 0 && Unread() == 0 && Interlocked.Read(ref _chunks) == chunks)
                {
                    // A line without its newline yet stays with the pump (it owns the buffer) until one comes.
                    return;
                }
            }
            else
            {
                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }
        }

        if (Completion.IsCompleted)
        {
            await Completion.ConfigureAwait(false);
        }
    }

    private async Task RunAsync()
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await _stream.ReadAsync(buffer).ConfigureAwait(false);
                _busy = 1;
                Interlocked.Increment(ref _chunks);
                if (read == 0)
                {
                    break;
                }

                await ConsumeAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                _busy = 0;
            }
        }
        catch (IOException)
        {
            // The instance went away mid-read; whatever was complete has been delivered.
        }
        catch (ObjectDisposedException)
        {
        }

        await FlushPartialLineAsync().ConfigureAwait(false);
        _busy = 0;
    }

    private async ValueTask ConsumeAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var newline = data.Span.IndexOf((byte)'\n');
            var take = newline < 0 ? data.Length : newline;
            var room = MaxLineBytes - _lineLength;
            if (take > room)
            {
                take = room;
                newline = -1;
            }

            data.Span[..take].CopyTo(_line.AsSpan(_lineLength));
            _lineLength += take;
            data = data[(newline < 0 ? take : take + 1)..];
            if (newline >= 0 || _lineLength == MaxLineBytes)
            {
                await EmitAsync().ConfigureAwait(false);
            }
        }
    }

    private ValueTask FlushPartialLineAsync() => _lineLength > 0 ? EmitAsync() : ValueTask.CompletedTask;

    private ValueTask EmitAsync()
    {
        var length = _lineLength;
        if (length > 0 && _line[length - 1] == (byte)'\r')
        {
            length--;
        }

        var text = Encoding.UTF8.GetString(_line, 0, length);
        _lineLength = 0;
        return _sink(text);
    }

    private int Unread()
    {
        if (_handle is null || _handle.IsClosed)
        {
            return 0;
        }

        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            return Ioctl((int)_handle.DangerousGetHandle(), Fionread, out var count) == 0 ? count : 0;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, out int count);
}
