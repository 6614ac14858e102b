using System.Globalization;
using Microsoft.Data.Sqlite;
using Nimbus.Storage;

namespace Nimbus.Tests.Storage;

/// <summary>
/// The object store's listing on a real buckets.db holding a 100,000-key bucket (100 directories of 1,000 keys, and
/// two top-level keys) and a 1,000-key one (100 directories of 10): pages walk every key once, a delimiter rolls each
/// directory up with one seek, and a page allocates about the same in both buckets, so its cost does not grow with the
/// bucket. The rows are written in one transaction (a bulk path), shared by the tests of this class.
/// </summary>
public sealed class ObjectStoreListingTests(ObjectStoreListingTests.Buckets buckets) : IClassFixture<ObjectStoreListingTests.Buckets>
{
    private const string Big = "big";
    private const string Small = "small";
    private const int Directories = 100;

    [Fact]
    public async Task Pages_of_1000_walk_100000_keys_each_exactly_once_in_key_order()
    {
        var listed = new List<string>();
        var after = "";
        var pages = 0;
        while (true)
        {
            var (entries, truncated) = await buckets.Store.ListObjectsAsync(Big, "", null, after, 1_000, CancellationToken.None);
            pages++;
            Assert.InRange(entries.Count, 1, 1_000);
            listed.AddRange(entries.Select(e => e.Object!.Key));
            if (!truncated)
            {
                break;
            }

            after = listed[^1];
            Assert.True(pages < 200, "the listing does not end");
        }

        Assert.Equal(101, pages);
        Assert.Equal(buckets.BigKeys, listed);
    }

    [Fact]
    public async Task A_delimiter_rolls_each_directory_up_once_and_a_prefix_bounds_the_listing()
    {
        var (all, truncated) = await buckets.Store.ListObjectsAsync(Big, "", "/", "", 1_000, CancellationToken.None);
        Assert.False(truncated);
        Assert.Equal([.. Enumerable.Range(0, Directories).Select(d => $"d{d:D3}/"), "top-a", "top-b"], all.Select(e => e.CommonPrefix ?? e.Object!.Key));

        var (page, more) = await buckets.Store.ListObjectsAsync(Big, "", "/", "d041/" + char.ConvertFromUtf32(0x10FFFF), 3, CancellationToken.None);
        Assert.True(more);
        Assert.Equal(["d042/", "d043/", "d044/"], page.Select(e => e.CommonPrefix));

        var (inside, last) = await buckets.Store.ListObjectsAsync(Big, "d042/", null, "d042/k0997", 1_000, CancellationToken.None);
        Assert.False(last);
        Assert.Equal(["d042/k0998", "d042/k0999"], inside.Select(e => e.Object!.Key));

        // A cursor before the prefix starts at the prefix itself.
        var (from, _) = await buckets.Store.ListObjectsAsync(Big, "d05", "/", "a", 2, CancellationToken.None);
        Assert.Equal(["d050/", "d051/"], from.Select(e => e.CommonPrefix));
    }

    [Fact]
    public void A_page_allocates_about_the_same_in_a_1000_key_and_a_100000_key_bucket()
    {
        var store = buckets.Store;

        // Microsoft.Data.Sqlite completes its async calls synchronously, so the whole listing runs on this thread and
        // the thread's allocation counter sees all of it. The least of three runs (after a warm-up) is kept.
        long Allocated(string bucket, string? delimiter, string after)
        {
            var least = long.MaxValue;
            for (var run = 0; run < 4; run++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                var (entries, _) = store.ListObjectsAsync(bucket, "", delimiter, after, 1_000, CancellationToken.None).GetAwaiter().GetResult();
                var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.NotEmpty(entries);
                if (run > 0)
                {
                    least = Math.Min(least, bytes);
                }
            }

            return least;
        }

        var smallPage = Allocated(Small, null, "");
        var bigPage = Allocated(Big, null, "d050/k0499");
        var smallRollUp = Allocated(Small, "/", "");
        var bigRollUp = Allocated(Big, "/", "");
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"1,000-key page: {smallPage:N0} B in the 1,000-key bucket, {bigPage:N0} B in the 100,000-key one; 100 common prefixes: {smallRollUp:N0} B vs {bigRollUp:N0} B");
        Assert.True(bigPage < smallPage * 3 / 2, summary);
        Assert.True(bigRollUp < smallRollUp * 3 / 2, summary);

        // Rolling 100,000 keys up into 100 prefixes reads about one row per prefix: less than one page of keys.
        Assert.True(bigRollUp < bigPage, summary);
    }

    /// <summary>The buckets.db of the class: written once, deleted with the fixture.</summary>
    public sealed class Buckets : IDisposable
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "nimbus-listing-" + Guid.NewGuid().ToString("N"));

        public Buckets()
        {
            Directory.CreateDirectory(_directory);
            var database = new SqliteDatabase(Path.Combine(_directory, "buckets.db"), BucketMigrations.All);
            Store = new ObjectStore(database, _directory, TimeProvider.System);
            foreach (var bucket in new[] { Big, Small })
            {
                Assert.True(Store.CreateBucketAsync(new BucketRecord(bucket, "us-east-1", DateTimeOffset.UtcNow, null), CancellationToken.None).GetAwaiter().GetResult());
            }

            BigKeys = [.. Enumerable.Range(0, Directories * 1_000).Select(i => $"d{i / 1_000:D3}/k{i % 1_000:D4}").Append("top-a").Append("top-b").Order(StringComparer.Ordinal)];
            Insert(database, Big, BigKeys);
            Insert(database, Small, Enumerable.Range(0, Directories * 10).Select(i => $"d{i / 10:D3}/k{i % 10:D4}"));
        }

        internal ObjectStore Store { get; }

        /// <summary>Every key of the big bucket, in S3's (ordinal) order.</summary>
        internal IReadOnlyList<string> BigKeys { get; }

        public void Dispose()
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(_directory, recursive: true);
        }

        /// <summary>Empty objects, all in one transaction (their blobs are never read by a listing).</summary>
        private static void Insert(SqliteDatabase database, string bucket, IEnumerable<string> keys)
        {
            using var connection = database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
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
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }
}
