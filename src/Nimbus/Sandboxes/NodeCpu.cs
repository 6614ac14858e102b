using System.Buffers.Text;

namespace Nimbus.Sandboxes;

/// <summary>
/// How busy this node's CPUs are, for scale-out (<see cref="NimbusOptions.ScaleOutWait"/>): the first line of
/// /proc/stat read by one timer every <see cref="Period"/>, the busy share taken over the last two periods (about
/// 200 ms), long enough to smooth a single tick, short enough to follow a burst. Unknown (NaN) until two periods have
/// passed, and where /proc/stat cannot be read; unknown counts as not saturated (scale-out as without the option).
/// The whole machine's CPUs: a server confined by a cgroup CPU quota sees the host's figures. Besides the ratio it keeps
/// since when the CPUs have been free without a break (<see cref="FreeSince"/>), so that a dip of a few hundred ms does
/// not read as room for more instances (<see cref="ScaleOutGate"/>), and calls <c>sampled</c> after every sample.
/// </summary>
internal sealed class NodeCpu : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(100);

    /// <summary>The busy share at and past which the node counts as saturated: more instances only share the same CPUs.</summary>
    public const double SaturatedBusyRatio = 0.85;

    private const string StatPath = "/proc/stat";

    // Written only by the timer's callback (_sampling keeps callbacks from overlapping); the last three samples.
    private readonly (long Busy, long Total)[] _samples = new (long, long)[3];
    private readonly ITimer? _timer;
    private readonly TimeProvider _time;
    private readonly Action? _sampled;
    private int _taken;
    private int _sampling;
    private double _busyRatio = double.NaN;

    // Timestamp of the first sample of the current run of samples below SaturatedBusyRatio; 0 while saturated.
    private long _freeSince = Unknown;

    /// <summary><see cref="FreeSince"/> while the busy ratio is unknown: free since forever.</summary>
    public const long Unknown = long.MinValue;

    public NodeCpu(TimeProvider time, bool enabled, Action? sampled = null)
    {
        _time = time;
        _sampled = sampled;
        if (enabled && File.Exists(StatPath))
        {
            _timer = time.CreateTimer(_ => Sample(), null, Period, Period);
        }
    }

    /// <summary>Share of the node's CPU time spent busy (not idle, not waiting for I/O) over the last ~200 ms; NaN when unknown.</summary>
    public double BusyRatio => Volatile.Read(ref _busyRatio);

    /// <summary>True when the node's CPUs were at least <see cref="SaturatedBusyRatio"/> busy over the last ~200 ms.</summary>
    public bool Saturated => BusyRatio >= SaturatedBusyRatio;

    /// <summary>
    /// The timestamp (<see cref="TimeProvider.GetTimestamp"/>) of the first of the samples below
    /// <see cref="SaturatedBusyRatio"/> since the last one at or above it; 0 while saturated; <see cref="Unknown"/> while
    /// the ratio is unknown.
    /// </summary>
    public long FreeSince => Volatile.Read(ref _freeSince);

    /// <summary>Takes a busy ratio sampled at <paramref name="timestamp"/> (NaN: unknown). Called by the timer only; tests call it directly.</summary>
    internal void Record(double busyRatio, long timestamp)
    {
        Volatile.Write(ref _busyRatio, busyRatio);
        var freeSince = double.IsNaN(busyRatio) ? Unknown
            : busyRatio >= SaturatedBusyRatio ? 0
            : _freeSince is 0 or Unknown ? timestamp
            : _freeSince;
        Volatile.Write(ref _freeSince, freeSince);
    }

    private void Sample()
    {
        if (Interlocked.Exchange(ref _sampling, 1) == 1)
        {
            return;
        }

        try
        {
            Span<byte> buffer = stackalloc byte[512];
            int read;
            try
            {
                using var handle = File.OpenHandle(StatPath);
                read = RandomAccess.Read(handle, buffer, 0);
            }
            catch (IOException)
            {
                return;
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }

            if (!TryParse(buffer[..read], out var busy, out var total))
            {
                return;
            }

            var slot = _taken % _samples.Length;
            _samples[slot] = (busy, total);
            _taken++;
            if (_taken < _samples.Length)
            {
                return;
            }

            // The oldest of the three: two periods ago.
            var (oldBusy, oldTotal) = _samples[_taken % _samples.Length];
            var elapsed = total - oldTotal;
            Record(elapsed > 0 ? Math.Clamp((double)(busy - oldBusy) / elapsed, 0, 1) : double.NaN, _time.GetTimestamp());
        }
        finally
        {
            Volatile.Write(ref _sampling, 0);

            // Every tick, whatever the sample: held-back callers are woken past their bound by it (SandboxPool.RecheckHeldBack).
            _sampled?.Invoke();
        }
    }

    /// <summary>
    /// Busy and total jiffies from /proc/stat's first line (<c>cpu  user nice system idle iowait irq softirq steal ...</c>):
    /// total is user through steal (guest time is already in user), busy is total less idle and iowait.
    /// </summary>
    internal static bool TryParse(ReadOnlySpan<byte> stat, out long busy, out long total)
    {
        busy = 0;
        total = 0;
        var end = stat.IndexOf((byte)'\n');
        var line = end >= 0 ? stat[..end] : stat;
        if (!line.StartsWith("cpu "u8))
        {
            return false;
        }

        line = line[4..];
        long idle = 0;
        var field = 0;
        for (; field < 8; field++)
        {
            line = line.TrimStart((byte)' ');
            if (line.IsEmpty)
            {
                // Kernels before 2.6.11 have no steal field: fine, as long as idle and iowait are there.
                break;
            }

            if (!Utf8Parser.TryParse(line, out long value, out var consumed))
            {
                return false;
            }

            line = line[consumed..];
            total += value;
            if (field is 3 or 4)
            {
                idle += value;
            }
        }

        if (field < 5)
        {
            return false;
        }

        busy = total - idle;
        return true;
    }

    public void Dispose() => _timer?.Dispose();
}
