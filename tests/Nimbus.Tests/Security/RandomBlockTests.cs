using Nimbus.Security;

namespace Nimbus.Tests.Security;

public sealed class RandomBlockTests
{
    [Fact]
    public void Takes_never_repeat_across_refills_of_the_block()
    {
        // 16 bytes a take: 2,000 takes span several 4 KiB blocks, and the takes that straddle a block's end.
        var takes = Enumerable.Range(0, 2_000).Select(_ => Take(16 + (_ % 7))).ToList();

        Assert.Equal(takes.Count, takes.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Takes_on_different_threads_do_not_repeat()
    {
        var perThread = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Enumerable.Range(0, 500).Select(_ => Take(20)).ToList())));

        var all = perThread.SelectMany(t => t).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void A_take_larger_than_a_block_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomBlock.Fill(new byte[4097]));
    }

    private static string Take(int length)
    {
        var bytes = new byte[length];
        RandomBlock.Fill(bytes);
        return Convert.ToHexString(bytes);
    }
}
