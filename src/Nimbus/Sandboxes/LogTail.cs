using System.Text;

namespace Nimbus.Sandboxes;

/// <summary>The last lines of one invocation's log, for <c>X-Amz-Log-Result</c> (the last 4 KB).</summary>
internal sealed class LogTail
{
    public const int MaxBytes = 4096;

    private readonly Queue<string> _lines = new();
    private int _bytes;

    public void Add(string line)
    {
        _lines.Enqueue(line);
        _bytes += Encoding.UTF8.GetByteCount(line) + 1;

        // Keep a little more than needed; the final cut is exact.
        while (_bytes > MaxBytes * 2 && _lines.Count > 1)
        {
            _bytes -= Encoding.UTF8.GetByteCount(_lines.Dequeue()) + 1;
        }
    }

    public override string ToString()
    {
        var builder = new StringBuilder();
        foreach (var line in _lines)
        {
            builder.Append(line).Append('\n');
        }

        var text = builder.ToString();
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length <= MaxBytes)
        {
            return text;
        }

        // Cut at a character boundary: skip UTF-8 continuation bytes.
        var start = bytes.Length - MaxBytes;
        while (start < bytes.Length && (bytes[start] & 0xC0) == 0x80)
        {
            start++;
        }

        return Encoding.UTF8.GetString(bytes, start, bytes.Length - start);
    }
}
