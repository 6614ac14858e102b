using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Nimbus.Storage;

namespace Nimbus.Tests.Storage;

/// <summary>
/// Readers of the object store against writers of the same key, on a real buckets.db and real blob files: an object
/// opened for reading keeps its bytes however the key changes afterwards, a reader racing an overwrite gets one whole
/// object whose record and bytes agree, and a concatenation whose part was replaced meanwhile keeps nothing. (The
/// store takes ETags as given: a SHA-256 stands in for the MD5 here.)
/// </summary>
public sealed class ObjectStoreConcurrencyTests : IDisposable
{
    private const string Bucket = "race";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nimbus-race-" + Guid.NewGuid().ToString("N"));
    private readonly ObjectStore _store;

    public ObjectStoreConcurrencyTests()
    {
        Directory.CreateDirectory(_directory);
        _store = new ObjectStore(new SqliteDatabase(Path.Combine(_directory, "buckets.db"), BucketMigrations.All), _directory, TimeProvider.System);
        Assert.True(_store.CreateBucketAsync(new BucketRecord(Bucket, "us-east-1", DateTimeOffset.UtcNow, null), CancellationToken.None).GetAwaiter().GetResult());
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task An_opened_object_keeps_its_bytes_when_its_key_is_overwritten_and_then_deleted()
    {
        var first = RandomNumberGenerator.GetBytes(70_000);
        var second = RandomNumberGenerator.GetBytes(7);
        await PutAsync("k", first);
        await using (var opened = await _store.OpenObjectAsync(Bucket, "k", CancellationToken.None))
        {
            Assert.NotNull(opened);
            await PutAsync("k", second);
            Assert.NotNull(await _store.DeleteObjectAsync(Bucket, "k", _ => [], CancellationToken.None));

            Assert.Equal(first.Length, opened.Record.Size);
            Assert.Equal(first, await ReadAllAsync(opened.Blob));
        }

        Assert.Null(await _store.OpenObjectAsync(Bucket, "k", CancellationToken.None));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_directory, "blobs"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Readers_racing_overwrites_and_deletes_each_get_one_whole_object_whose_record_matches_its_bytes()
    {
        byte[][] bodies = [.. new[] { 5, 4_000, 70_000, 300_000 }.Select(RandomNumberGenerator.GetBytes)];
        var etags = bodies.ToDictionary(b => Convert.ToHexStringLower(SHA256.HashData(b)), b => b);
        await PutAsync("hot", bodies[0]);

        // Bounded by count, not time: 3 writers x 150 changes, 4 readers x at least 150 reads, all on one key. Readers go on
        // while writers write and until one found the key: on a loaded machine writers can wait on the database lock while
        // readers run through their reads against a deleted key; once the writers are done the key exists (the last
        // changes are puts), so the next read finds it.
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 150; i++)
            {
                if (w == 2 && i % 3 == 0)
                {
                    await _store.DeleteObjectAsync(Bucket, "hot", _ => [], CancellationToken.None);
                }
                else
                {
                    await PutAsync("hot", bodies[(w + i) % bodies.Length]);
                }
            }
        }));
        var writing = Task.WhenAll(writers);
        var found = 0;
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 150 || !writing.IsCompleted || Volatile.Read(ref found) == 0; i++)
            {
                await using var opened = await _store.OpenObjectAsync(Bucket, "hot", CancellationToken.None);
                if (opened is null)
                {
                    continue;
                }

                var bytes = await ReadAllAsync(opened.Blob);
                Assert.True(etags.TryGetValue(opened.Record.ETag, out var expected), $"unknown ETag {opened.Record.ETag}");
                Assert.Equal(expected, bytes);
                Assert.Equal(bytes.Length, opened.Record.Size);
                Interlocked.Increment(ref found);
            }
        }));
        await Task.WhenAll([writing, .. readers]);
        Assert.True(found > 0, "no read found the key: the test raced nothing");
    }

    [Fact]
    public async Task A_concatenation_whose_part_was_uploaded_again_meanwhile_comes_back_null_and_keeps_no_file()
    {
        var upload = await _store.CreateUploadAsync(Bucket, "mp", new Dictionary<string, string>(), CancellationToken.None);
        var before = await PutPartAsync(upload.UploadId, 1, RandomNumberGenerator.GetBytes(1_000));
        var listed = await _store.ListPartsAsync(upload.UploadId, 0, 10, CancellationToken.None);
        Assert.Equal(before, listed.Single().BlobId);
        await PutPartAsync(upload.UploadId, 1, RandomNumberGenerator.GetBytes(2_000));

        Assert.Null(await _store.ConcatenateAsync([.. listed.Select(p => p.BlobId)], _ => { }, CancellationToken.None));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_directory, "tmp")));
        var now = await _store.ListPartsAsync(upload.UploadId, 0, 10, CancellationToken.None);
        var staged = await _store.ConcatenateAsync([.. now.Select(p => p.BlobId)], _ => { }, CancellationToken.None);
        Assert.Equal(2_000, staged!.Length);
        _store.Discard(staged);
    }

    private async Task PutAsync(string key, byte[] body)
    {
        var staged = await _store.StageAsync(new MemoryStream(body), _ => { }, long.MaxValue, CancellationToken.None);
        var record = new ObjectRecord(Bucket, key, staged!.Length, Convert.ToHexStringLower(SHA256.HashData(body)), DateTimeOffset.UtcNow,
            new Dictionary<string, string>(), null, null, staged.BlobId);
        Assert.Equal(ObjectCommitOutcome.Committed, await _store.CommitObjectAsync(record, [], false, null, CancellationToken.None));
    }

    private async Task<string> PutPartAsync(string uploadId, int number, byte[] body)
    {
        var staged = await _store.StageAsync(new MemoryStream(body), _ => { }, long.MaxValue, CancellationToken.None);
        var part = new PartRecord(number, staged!.Length, Convert.ToHexStringLower(SHA256.HashData(body)), DateTimeOffset.UtcNow, staged.BlobId);
        Assert.True(await _store.PutPartAsync(uploadId, part, CancellationToken.None));
        return staged.BlobId;
    }

    private static async Task<byte[]> ReadAllAsync(Stream blob)
    {
        using var copy = new MemoryStream();
        await blob.CopyToAsync(copy);
        return copy.ToArray();
    }
}
