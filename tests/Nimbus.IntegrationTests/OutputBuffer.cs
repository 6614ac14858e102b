namespace Nimbus.IntegrationTests;

/// <summary>The last <c>capacity</c> lines a process printed; long lines are cut. Thread-safe.</summary>
internal sealed class OutputBuffer(int capacity)
{
    private const int MaxLineLength = 2_000;

    private readonly Lock _lock = new();

    // Guarded by _lock.
    private readonly Queue<string> _lines = new();
    private long _total;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _lines.Count;
            }
        }
    }

    public long Total
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    public void Add(string line)
    {
        if (line.Length > MaxLineLength)
        {
            line = string.Concat(line.AsSpan(0, MaxLineLength), $"... ({line.Length} chars)");
        }

        lock (_lock)
        {
            _lines.Enqueue(line);
            _total++;
            if (_lines.Count > capacity)
            {
                _lines.Dequeue();
            }
        }
    }

    public string Tail(int lines)
    {
        lock (_lock)
        {
            return string.Join(Environment.NewLine, _lines.Skip(Math.Max(0, _lines.Count - lines)));
        }
    }
}
