using System.Text;
using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class LogTailTests
{
    [Fact]
    public void Short_logs_are_returned_whole_with_a_newline_per_line()
    {
        var tail = new LogTail();
        tail.Add("START");
        tail.Add("hello");

        Assert.Equal("START\nhello\n", tail.ToString());
    }

    [Fact]
    public void Long_logs_keep_only_the_last_4KB_ending_with_the_last_line()
    {
        var tail = new LogTail();
        for (var i = 0; i < 1000; i++)
        {
            tail.Add($"line {i:0000} " + new string('x', 40));
        }

        var text = tail.ToString();
        Assert.Equal(LogTail.MaxBytes, Encoding.UTF8.GetByteCount(text));
        Assert.EndsWith("line 0999 " + new string('x', 40) + "\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cut_never_splits_a_multibyte_character()
    {
        var tail = new LogTail();
        for (var i = 0; i < 3000; i++)
        {
            tail.Add("é€");
        }

        var text = tail.ToString();
        Assert.True(Encoding.UTF8.GetByteCount(text) <= LogTail.MaxBytes);
        Assert.DoesNotContain('\uFFFD', text);
    }
}
