using Microsoft.Win32.SafeHandles;

namespace Nimbus.Sandboxes;

/// <summary>
/// One control file of an instance cgroup that the invoke path touches on every invocation (the freezer state,
/// the memory peak). It is opened once and then read or written at offset 0 (pread/pwrite): opening, reading
/// and closing it through <see cref="File"/> each time cost 40-80 µs per call here, the kernel's own work a
/// few. Failures are swallowed like <see cref="InstanceCgroup"/>'s other best-effort accesses, and the next
/// call opens the file again. Thread-safe: positioned I/O shares no file offset.
/// </summary>
internal sealed class CgroupFile(string path, FileAccess access)
{
    private readonly Lock _lock = new();
    private SafeFileHandle? _handle;

    public string Path { get; } = path;

    /// <summary>Writes <paramref name="value"/>; false when the file could not be written.</summary>
    public bool TryWrite(ReadOnlySpan<byte> value)
    {
        var handle = Handle();
        if (handle is null)
        {
            return false;
        }

        try
        {
            RandomAccess.Write(handle, value, 0);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Reset(handle);
            return false;
        }
    }

    /// <summary>The file's content as a non-negative integer; 0 when it cannot be read or parsed.</summary>
    public long ReadLong()
    {
        var handle = Handle();
        if (handle is null)
        {
            return 0;
        }

        Span<byte> buffer = stackalloc byte[64];
        int length;
        try
        {
            length = RandomAccess.Read(handle, buffer, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Reset(handle);
            return 0;
        }

        long value = 0;
        var digits = 0;
        foreach (var b in buffer[..length])
        {
            if (b is >= (byte)'0' and <= (byte)'9')
            {
                value = (value * 10) + (b - '0');
                digits++;
            }
            else if (digits > 0 || b is not ((byte)' ' or (byte)'\t'))
            {
                break;
            }
        }

        return value;
    }

    /// <summary>Closes the file; a later call opens it again (and fails once the cgroup is gone).</summary>
    public void Close()
    {
        lock (_lock)
        {
            _handle?.Dispose();
            _handle = null;
        }
    }

    private SafeFileHandle? Handle()
    {
        if (Volatile.Read(ref _handle) is { } open)
        {
            return open;
        }

        lock (_lock)
        {
            if (_handle is null)
            {
                try
                {
                    _handle = File.OpenHandle(Path, FileMode.Open, access, FileShare.ReadWrite);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return null;
                }
            }

            return _handle;
        }
    }

    private void Reset(SafeFileHandle failed)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_handle, failed))
            {
                _handle.Dispose();
                _handle = null;
            }
        }
    }
}
