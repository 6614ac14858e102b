namespace Nimbus.IntegrationTests;

/// <summary>
/// The last <c>capacity</c> lines a process printed, and the first error entries it logged (<c>fail:</c> and
/// <c>crit:</c> with their indented lines), which a long run would otherwise push out; long lines are cut. Thread-safe.
/// </summary>
internal sealed class OutputBuffer(int capacity)
{
    private const int MaxLineLength = 2_000;
    private const int MaxErrorLines = 300;
    private const int LinesPerError = 12;

    private readonly Lock _lock = new();

    // Guarded by _lock.
    private readonly Queue<string> _lines = new();
    private readonly List<string> _errors = [];
    private long _total;
    private int _errorLinesLeft;

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
            if (line.StartsWith("fail: ", StringComparison.Ordinal) || line.StartsWith("crit: ", StringComparison.Ordinal))
            {
                _errorLinesLeft = LinesPerError;
            }
            else if (line.Length == 0 || !char.IsWhiteSpace(line[0]))
            {
                _errorLinesLeft = 0;
            }

            if (_errorLinesLeft > 0 && _errors.Count < MaxErrorLines)
            {
                _errors.Add(line);
                _errorLinesLeft--;
            }

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

    /// <summary>The error entries logged so far (the first ones, at most 300 lines); empty when none.</summary>
    public string Errors()
    {
        lock (_lock)
        {
            return string.Join(Environment.NewLine, _errors);
        }
    }
}
