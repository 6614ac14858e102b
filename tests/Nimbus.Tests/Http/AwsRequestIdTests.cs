using System.Text.RegularExpressions;
using Nimbus.Http;

namespace Nimbus.Tests.Http;

public sealed partial class AwsRequestIdTests
{
    [Fact]
    public void Request_ids_are_distinct_version_4_UUIDs_across_many_refills_of_the_random_block()
    {
        // 256 ids per block of random bytes: 2,000 ids span several refills on this thread.
        var ids = Enumerable.Range(0, 2_000).Select(_ => AwsRequestId.NewId()).ToList();

        Assert.All(ids, id => Assert.Matches(UuidV4(), id));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task Request_ids_made_on_different_threads_do_not_repeat()
    {
        var perThread = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Enumerable.Range(0, 500).Select(_ => AwsRequestId.NewId()).ToList())));

        var all = perThread.SelectMany(ids => ids).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void A_request_keeps_one_id_which_its_response_header_carries()
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();

        var first = AwsRequestId.Get(context);
        var second = AwsRequestId.Get(context);

        Assert.Matches(UuidV4(), first);
        Assert.Equal(first, second);
        Assert.Equal(first, context.Response.Headers[AwsRequestId.Header].ToString());
    }

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    private static partial Regex UuidV4();
}
