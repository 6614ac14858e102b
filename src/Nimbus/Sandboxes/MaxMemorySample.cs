namespace Nimbus.Sandboxes;

/// <summary>
/// One invocation's Max Memory Used, in MB: its sandbox's peak, read once, by the first to ask. For an invocation whose
/// REPORT goes out after its caller's answer, the first to ask is the invoker's record (after the answer), the deferred
/// REPORT, or the instance's next invocation before its event goes to the runtime, whichever comes first: the read is off
/// the way from the runtime's answer to the caller's, and the REPORT line, metering and metrics carry the same figure,
/// the peak before anything of a later invocation ran.
/// </summary>
internal sealed class MaxMemorySample
{
    // Guards the one read: two readers on two threads get the same figure, and the sandbox is never read concurrently.
    private readonly Lock _lock = new();

    // Null once read; written after _megabytes (a reader that sees null sees the figure).
    private ISandbox? _sandbox;
    private int _megabytes;

    private MaxMemorySample(ISandbox? sandbox, int megabytes)
    {
        _sandbox = sandbox;
        _megabytes = megabytes;
    }

    /// <summary>Reads <paramref name="sandbox"/>'s peak when first asked.</summary>
    public static MaxMemorySample Later(ISandbox sandbox) => new(sandbox, 0);

    /// <summary>A peak already read.</summary>
    public static MaxMemorySample Of(long peakBytes) => new(null, ToMegabytes(peakBytes));

    public int Megabytes
    {
        get
        {
            if (Volatile.Read(ref _sandbox) is null)
            {
                return _megabytes;
            }

            lock (_lock)
            {
                if (_sandbox is { } sandbox)
                {
                    _megabytes = ToMegabytes(sandbox.PeakMemoryBytes());
                    Volatile.Write(ref _sandbox, null);
                }

                return _megabytes;
            }
        }
    }

    private static int ToMegabytes(long bytes) => (int)Math.Ceiling(bytes / (1024.0 * 1024.0));
}
