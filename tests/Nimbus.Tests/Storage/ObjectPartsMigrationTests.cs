using Microsoft.Data.Sqlite;
using Nimbus.Storage;

namespace Nimbus.Tests.Storage;

/// <summary>
/// buckets.db schema 4 keeps the parts of an object CompleteMultipartUpload assembled. A data directory written by an
/// older Nimbus migrates on start with its objects intact, each read back as a single-part object (its boundaries were
/// never kept); an object committed with parts reads them back, and an overwrite by a single PUT drops them.
/// </summary>
public sealed class ObjectPartsMigrationTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nimbus-parts-" + Guid.NewGuid().ToString("N"));

    public ObjectPartsMigrationTests() => Directory.CreateDirectory(_directory);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_schema_3_buckets_db_migrates_on_start_and_its_objects_read_back_as_single_part()
    {
        var path = Path.Combine(_directory, "buckets.db");
        var old = new ObjectStore(new SqliteDatabase(path, BucketMigrations.All.Take(3).ToList()), _directory, TimeProvider.System);
        Assert.True(await old.CreateBucketAsync(new BucketRecord("b", "us-east-1", DateTimeOffset.UtcNow, null), CancellationToken.None));

        // The old store's own upsert, as schema 3 had it: a multipart ETag without any record of its parts.
        var staged = await old.StageAsync(new MemoryStream(new byte[300]), _ => { }, 1_000, CancellationToken.None);
        await using (var connection = new SqliteConnection($"Data Source={path}"))
        {
            await connection.OpenAsync();
            await using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO objects (bucket, key, size, etag, last_modified, headers, checksum_algorithm, checksum, blob)
                VALUES ('b', 'old', 300, '0123456789abcdef0123456789abcdef-2', 1, '{}', NULL, NULL, $blob);
                """;
            insert.Parameters.AddWithValue("$blob", staged!.BlobId);
            await insert.ExecuteNonQueryAsync();
        }

        SqliteConnection.ClearAllPools();
        var database = new SqliteDatabase(path, BucketMigrations.All);
        Assert.Equal(BucketMigrations.All.Count, database.SchemaVersion);
        var store = new ObjectStore(database, _directory, TimeProvider.System);
        var migrated = await store.GetObjectAsync("b", "old", CancellationToken.None);
        Assert.NotNull(migrated);
        Assert.Equal(300, migrated.Size);
        Assert.Equal("0123456789abcdef0123456789abcdef-2", migrated.ETag);
        Assert.Null(migrated.Parts);
        await using (var opened = await store.OpenObjectAsync("b", "old", CancellationToken.None))
        {
            Assert.Equal(300, opened!.Blob.Length);
        }

        // Committed with parts: they read back in order, numbers as uploaded.
        var assembled = await store.StageAsync(new MemoryStream(new byte[150]), _ => { }, 1_000, CancellationToken.None);
        var record = new ObjectRecord("b", "new", 150, "aa-2", DateTimeOffset.UtcNow, new Dictionary<string, string>(), null, null, assembled!.BlobId)
        {
            Parts = [new ObjectPart(1, 100), new ObjectPart(3, 50)],
        };
        Assert.Equal(ObjectCommitOutcome.Committed, await store.CommitObjectAsync(record, [], false, null, CancellationToken.None));
        Assert.Equal([new ObjectPart(1, 100), new ObjectPart(3, 50)], (await store.GetObjectAsync("b", "new", CancellationToken.None))!.Parts);

        // A single PUT over it is single-part again.
        var single = await store.StageAsync(new MemoryStream(new byte[10]), _ => { }, 1_000, CancellationToken.None);
        Assert.Equal(ObjectCommitOutcome.Committed, await store.CommitObjectAsync(record with { Size = 10, ETag = "bb", BlobId = single!.BlobId, Parts = null }, [], false, null, CancellationToken.None));
        Assert.Null((await store.GetObjectAsync("b", "new", CancellationToken.None))!.Parts);
    }

    [Fact]
    public void The_persisted_form_of_parts_is_frozen()
    {
        Assert.Equal("1:5242880,3:5242880,7:100", ObjectParts.Format([new ObjectPart(1, 5_242_880), new ObjectPart(3, 5_242_880), new ObjectPart(7, 100)]));
        Assert.Equal([new ObjectPart(2, 0), new ObjectPart(10000, 5_368_709_120)], ObjectParts.Parse("2:0,10000:5368709120"));
    }
}
