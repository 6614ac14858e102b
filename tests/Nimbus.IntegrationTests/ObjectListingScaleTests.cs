using Amazon.S3.Model;
using Microsoft.Data.Sqlite;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Listing a bucket of 100,000 keys through AWSSDK.S3: every key exactly once across continuation tokens, and
/// delimiters roll whole common prefixes up across pages, markers and start-after. The keys are written straight
/// into the running server's buckets.db (one transaction; the server caches no object rows): a bulk path, not
/// 100,000 PUTs. ObjectStoreListingTests (unit) shows a page costs the same in a 1,000-key and a 100,000-key bucket.
/// </summary>
public sealed class ObjectListingScaleTests(ObjectListingFixture fixture) : IClassFixture<ObjectListingFixture>
{
    [Fact]
    public Task ListObjectsV2_pages_through_100000_keys_with_continuation_tokens_each_key_exactly_once() => fixture.RunAsync(async server =>
    {
        using var s3 = S3SdkTests.Client(server);
        var listed = new List<string>(fixture.BigKeys.Count);
        string? token = null;
        var pages = 0;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = ObjectListingFixture.Big, MaxKeys = 1_000, ContinuationToken = token });
            pages++;
            Assert.True(page.KeyCount <= 1_000, $"page {pages} has {page.KeyCount} keys");
            listed.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
            Assert.True(pages <= 200, "the listing does not end");
        }
        while (token is not null);

        Assert.Equal(fixture.BigKeys.Count, listed.Count);
        Assert.Equal(fixture.BigKeys, listed);
        Assert.Equal(101, pages);
    });

    [Fact]
    public Task Delimiters_roll_each_common_prefix_up_once_across_pages_markers_and_start_after() => fixture.RunAsync(async server =>
    {
        using var s3 = S3SdkTests.Client(server);
        var directories = Enumerable.Range(0, ObjectListingFixture.Directories).Select(d => $"d{d:D3}/").ToList();
        List<string> expected = [.. directories, .. ObjectListingFixture.TopKeys];

        // ListObjectsV2, 7 entries a page: 100 common prefixes (each one index seek) and the 2 top-level keys.
        var v2 = new List<string>();
        string? token = null;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = ObjectListingFixture.Big, Delimiter = "/", MaxKeys = 7, ContinuationToken = token });
            Assert.True(page.KeyCount <= 7);
            v2.AddRange((page.CommonPrefixes ?? []).Concat((page.S3Objects ?? []).Select(o => o.Key)).Order(StringComparer.Ordinal));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
            Assert.True(v2.Count <= expected.Count, "a common prefix came back twice");
        }
        while (token is not null);

        Assert.Equal(expected, v2);

        // ListObjects (v1), paged with NextMarker.
        var v1 = new List<string>();
        string? marker = null;
        while (true)
        {
            var page = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = ObjectListingFixture.Big, Delimiter = "/", MaxKeys = 9, Marker = marker });
            v1.AddRange((page.CommonPrefixes ?? []).Concat((page.S3Objects ?? []).Select(o => o.Key)).Order(StringComparer.Ordinal));
            Assert.True(v1.Count <= expected.Count, "a common prefix came back twice");
            if (page.IsTruncated != true)
            {
                break;
            }

            marker = page.NextMarker;
        }

        Assert.Equal(expected, v1);

        // A prefix with a delimiter: the ten directories d040/..d049/ out of 10,000 keys.
        var tens = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = ObjectListingFixture.Big, Prefix = "d04", Delimiter = "/" });
        Assert.Equal(Enumerable.Range(40, 10).Select(d => $"d{d:D3}/"), tens.CommonPrefixes);
        Assert.Empty(tens.S3Objects ?? []);
        Assert.False(tens.IsTruncated);

        // start-after inside a directory: the rest of that directory; with a delimiter, past the whole directory.
        var rest = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = ObjectListingFixture.Big, Prefix = "d042/", StartAfter = "d042/k0500" });
        Assert.Equal(Enumerable.Range(501, 499).Select(k => $"d042/k{k:D4}"), rest.S3Objects.Select(o => o.Key));
        var past = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = ObjectListingFixture.Big, Delimiter = "/", StartAfter = "d042/k0500", MaxKeys = 2 });
        Assert.Equal(["d043/", "d044/"], past.CommonPrefixes);
        Assert.True(past.IsTruncated);
    });
}

/// <summary>
/// A server whose <see cref="Big"/> bucket holds 100 directories of 1,000 keys and two top-level keys.
/// </summary>
public sealed class ObjectListingFixture : IAsyncLifetime
{
    public const string Big = "listing-big";
    public const int Directories = 100;
    public static readonly string[] TopKeys = ["top-a", "top-b"];

    private TempDirectory? _data;
    private NimbusServer? _server;

    /// <summary>Every key of <see cref="Big"/>, in S3's (ordinal) order.</summary>
    internal IReadOnlyList<string> BigKeys { get; private set; } = [];

    public async Task InitializeAsync()
    {
        _data = new TempDirectory("nimbus-it-listing");
        _server = await NimbusServer.StartAsync(_data.Path);
        using (var s3 = S3SdkTests.Client(_server))
        {
            await s3.PutBucketAsync(new PutBucketRequest { BucketName = Big });
        }

        BigKeys = [.. Enumerable.Range(0, Directories * 1_000).Select(i => $"d{i / 1_000:D3}/k{i % 1_000:D4}").Concat(TopKeys).Order(StringComparer.Ordinal)];
        await InsertAsync(Path.Combine(_data.Path, "buckets", "buckets.db"), Big, BigKeys);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _data?.Dispose();
    }

    internal Task RunAsync(Func<NimbusServer, Task> test)
    {
        var server = _server ?? throw new InvalidOperationException("The listing fixture has not been set up.");
        return Failures.WithContextAsync(() => test(server), () => server.DescribeOutput());
    }

    /// <summary>Empty objects, all in one transaction (their blobs are never read by a listing).</summary>
    private static async Task InsertAsync(string database, string bucket, IEnumerable<string> keys)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, DefaultTimeout = 60, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO objects (bucket, key, size, etag, last_modified, headers, blob)
            VALUES ($bucket, $key, 0, 'd41d8cd98f00b204e9800998ecf8427e', $modified, '{"Content-Type":"binary/octet-stream"}', $blob);
            """;
        insert.Parameters.AddWithValue("$bucket", bucket);
        var key = insert.Parameters.Add("$key", SqliteType.Text);
        insert.Parameters.AddWithValue("$modified", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var blob = insert.Parameters.Add("$blob", SqliteType.Text);
        foreach (var name in keys)
        {
            key.Value = name;
            blob.Value = Guid.NewGuid().ToString("N");
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }
}
