using Microsoft.Win32.SafeHandles;

namespace Nimbus.Sandboxes;

/// <summary>
/// Max Memory Used of an instance that no cgroup accounts for: the sum of the peak resident sets (VmHWM) of its process
/// tree, never lower than an earlier sample. The tree is walked (every thread's children file) at most every
/// <see cref="WalkIntervalMs"/>; a process started since counts from the next walk on. Between walks a sample reads the
/// status file of each process below the sandbox's own wrappers, kept open from the walk (one pread each, instead of
/// open, fstat, flock, read, flock, close). The wrappers (<paramref name="wrapperDepth"/> levels from the root: bwrap and
/// its pid-1 child, which only wait for the runtime once it started) are read at the walks alone: their peak is set
/// before the runtime starts. Reading a status file costs the kernel ~10 µs (it renders the whole file), so the walk
/// reads three where a sample reads one. Thread-safe.
/// </summary>
internal sealed class ProcessTreePeak(int rootPid, int wrapperDepth) : IDisposable
{
    /// <summary>How often, at most, the process tree is walked again.</summary>
    internal const long WalkIntervalMs = 250;

    /// <summary>Status files kept open at most; a tree's processes past them are opened at each sample.</summary>
    internal const int MaxOpenStatusFiles = 32;

    private readonly Lock _lock = new();
    private Watched[] _watched = [];
    private long _wrapperBytes;
    private long _walkedAt;
    private bool _walked;
    private bool _disposed;
    private long _peak;

    /// <summary>Status files open now (tests).</summary>
    internal int OpenStatusFiles
    {
        get
        {
            lock (_lock)
            {
                return _watched.Count(w => w.IsOpen);
            }
        }
    }

    /// <summary>The peak so far, in bytes, sampled now; <paramref name="nowMs"/> is <see cref="Environment.TickCount64"/>.</summary>
    public long Sample(long nowMs)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return _peak;
            }

            if (!_walked || nowMs - _walkedAt >= WalkIntervalMs)
            {
                WalkLocked();
                _walked = true;
                _walkedAt = nowMs;
            }

            var total = _wrapperBytes;
            foreach (var process in _watched)
            {
                total += process.ReadVmHwmBytes();
            }

            return _peak = Math.Max(_peak, total);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var process in _watched)
            {
                process.Dispose();
            }

            _watched = [];
        }
    }

    private void WalkLocked()
    {
        var tree = ProcessTree.WalkWithDepths(rootPid);
        var previous = _watched.ToDictionary(w => w.Pid);
        var watched = new List<Watched>(tree.Count);
        long wrappers = 0;
        var open = 0;
        foreach (var (pid, depth) in tree)
        {
            if (depth < wrapperDepth)
            {
                wrappers += ProcessTree.ReadVmHwmBytes(pid);
                continue;
            }

            if (!previous.Remove(pid, out var process) || process.IsGone)
            {
                process?.Dispose();
                process = new Watched(pid, keepOpen: open < MaxOpenStatusFiles);
            }

            open += process.KeepOpen ? 1 : 0;
            watched.Add(process);
        }

        // Processes no longer in the tree (exited, or a pid now used by another process elsewhere).
        foreach (var gone in previous.Values)
        {
            gone.Dispose();
        }

        _wrapperBytes = wrappers;
        _watched = [.. watched];
    }

    /// <summary>One process read at every sample: its status file open while it lives (up to the cap), else opened each time.</summary>
    private sealed class Watched(int pid, bool keepOpen) : IDisposable
    {
        private SafeFileHandle? _status;
        private bool _gone;

        public int Pid { get; } = pid;

        public bool KeepOpen { get; } = keepOpen;

        public bool IsOpen => _status is not null;

        /// <summary>Exited since it was first read (its pid may be another process's by now).</summary>
        public bool IsGone => _gone;

        /// <summary>Its VmHWM now; 0 once it is gone.</summary>
        public long ReadVmHwmBytes()
        {
            if (_gone)
            {
                return 0;
            }

            if (!KeepOpen)
            {
                return ProcessTree.ReadVmHwmBytes(Pid);
            }

            try
            {
                _status ??= ProcessTree.OpenStatus(Pid);
                return ProcessTree.ReadVmHwmBytes(_status);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited (ESRCH), or never there: it counts nothing from now on, as a process gone counts nothing.
                _gone = true;
                Dispose();
                return 0;
            }
        }

        public void Dispose()
        {
            _status?.Dispose();
            _status = null;
        }
    }
}
