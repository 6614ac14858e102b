using System.Text.Json;
using Nimbus.Functions;
using Nimbus.Storage;

namespace Nimbus.Tests.Storage;

/// <summary>
/// Golden tests: metadata.db stores these shapes and values. If one fails, old data would no longer read
/// back correctly; add a migration instead of changing the shape.
/// </summary>
public sealed class PersistedShapeTests
{
    [Fact]
    public void FunctionRecord_json_shape_is_frozen()
    {
        var record = new FunctionRecord
        {
            Name = "hello",
            Runtime = "nodejs20.x",
            Handler = "index.handler",
            Role = "arn:aws:iam::000000000000:role/x",
            Environment = new Dictionary<string, string> { ["GREETING"] = "hi" },
            CodeSha256Hex = new string('a', 64),
            CodeSize = 325,
            LastModified = new DateTimeOffset(2026, 11, 22, 13, 0, 0, TimeSpan.Zero),
            RevisionId = "r1",
        };

        var json = JsonSerializer.Serialize(record, StorageJsonContext.Default.FunctionRecord);

        Assert.Equal(
            """{"Name":"hello","Version":"$LATEST","Runtime":"nodejs20.x","Handler":"index.handler","Role":"arn:aws:iam::000000000000:role/x","Description":"","Timeout":3,"MemorySize":128,"EphemeralStorageSize":512,"Environment":{"GREETING":"hi"},"Architectures":["x86_64"],"PackageType":"Zip","TracingMode":"PassThrough","LogFormat":"Text","CodeSha256Hex":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","CodeSize":325,"LastModified":"2026-11-22T13:00:00+00:00","RevisionId":"r1","State":"Active","LastUpdateStatus":"Successful"}""",
            json);
        Assert.Equal(record, JsonSerializer.Deserialize(json, StorageJsonContext.Default.FunctionRecord)! with { Environment = record.Environment, Architectures = record.Architectures });
    }

    [Fact]
    public void Published_version_record_json_shape_is_frozen()
    {
        var record = new FunctionRecord
        {
            Name = "hello",
            Version = "3",
            Runtime = "python3.12",
            Handler = "app.handler",
            Role = "arn:aws:iam::000000000000:role/x",
            CodeSha256Hex = new string('b', 64),
            CodeSize = 10,
            LastModified = new DateTimeOffset(2026, 12, 1, 9, 30, 0, TimeSpan.Zero),
            RevisionId = "r3",
            PublishedFromRevisionId = "r-latest",
            PublishedFromDescription = "",
        };

        var json = JsonSerializer.Serialize(record, StorageJsonContext.Default.FunctionRecord);

        Assert.Equal(
            """{"Name":"hello","Version":"3","Runtime":"python3.12","Handler":"app.handler","Role":"arn:aws:iam::000000000000:role/x","Description":"","Timeout":3,"MemorySize":128,"EphemeralStorageSize":512,"Architectures":["x86_64"],"PackageType":"Zip","TracingMode":"PassThrough","LogFormat":"Text","CodeSha256Hex":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","CodeSize":10,"LastModified":"2026-12-01T09:30:00+00:00","RevisionId":"r3","State":"Active","LastUpdateStatus":"Successful","PublishedFromRevisionId":"r-latest","PublishedFromDescription":""}""",
            json);
        Assert.Equal("r-latest", JsonSerializer.Deserialize(json, StorageJsonContext.Default.FunctionRecord)!.PublishedFromRevisionId);
    }

    [Fact]
    public void LayerVersionRecord_and_function_layers_json_shapes_are_frozen()
    {
        var layer = new LayerVersionRecord
        {
            LayerName = "shared",
            Version = 2,
            Description = "d",
            CompatibleRuntimes = ["nodejs20.x"],
            CompatibleArchitectures = ["x86_64"],
            LicenseInfo = "MIT",
            CodeSha256Hex = new string('c', 64),
            CodeSize = 42,
            CreatedDate = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero),
        };
        Assert.Equal(
            """{"LayerName":"shared","Version":2,"Description":"d","CompatibleRuntimes":["nodejs20.x"],"CompatibleArchitectures":["x86_64"],"LicenseInfo":"MIT","CodeSha256Hex":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","CodeSize":42,"CreatedDate":"2026-12-01T10:00:00+00:00"}""",
            JsonSerializer.Serialize(layer, StorageJsonContext.Default.LayerVersionRecord));

        var function = new FunctionRecord
        {
            Name = "hello",
            Runtime = "nodejs20.x",
            Handler = "index.handler",
            Role = "arn:aws:iam::000000000000:role/x",
            Layers = [new FunctionLayer { Arn = "arn:aws:lambda:us-east-1:000000000000:layer:shared:2", CodeSha256Hex = new string('c', 64), CodeSize = 42 }],
            CodeSha256Hex = new string('a', 64),
            CodeSize = 1,
            LastModified = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero),
            RevisionId = "r",
        };
        var json = JsonSerializer.Serialize(function, StorageJsonContext.Default.FunctionRecord);
        Assert.Contains(
            """
            ,"Layers":[{"Arn":"arn:aws:lambda:us-east-1:000000000000:layer:shared:2","CodeSha256Hex":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","CodeSize":42}],
            """.Trim(),
            json,
            StringComparison.Ordinal);
        Assert.Equal(42, JsonSerializer.Deserialize(json, StorageJsonContext.Default.FunctionRecord)!.Layers![0].CodeSize);
    }

    [Fact]
    public void AliasRecord_json_shape_is_frozen()
    {
        var alias = new AliasRecord
        {
            FunctionName = "hello",
            Name = "live",
            FunctionVersion = "1",
            Description = "prod",
            AdditionalVersionWeights = new Dictionary<string, double> { ["2"] = 0.1 },
            RevisionId = "a1",
        };

        var json = JsonSerializer.Serialize(alias, StorageJsonContext.Default.AliasRecord);

        Assert.Equal(
            """{"FunctionName":"hello","Name":"live","FunctionVersion":"1","Description":"prod","AdditionalVersionWeights":{"2":0.1},"RevisionId":"a1"}""",
            json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.AliasRecord)!;
        Assert.Equal(0.1, back.AdditionalVersionWeights!["2"]);
        Assert.Equal(alias with { AdditionalVersionWeights = back.AdditionalVersionWeights }, back);
    }

    [Fact]
    public void Persisted_state_values_are_frozen()
    {
        Assert.Equal("Pending", FunctionStates.Pending);
        Assert.Equal("Active", FunctionStates.Active);
        Assert.Equal("Failed", FunctionStates.Failed);
        Assert.Equal("Successful", FunctionStates.Successful);
        Assert.Equal("InProgress", FunctionStates.InProgress);
    }

    [Fact]
    public void Persisted_function_url_values_are_frozen()
    {
        Assert.Equal("NONE", FunctionUrlValues.AuthNone);
        Assert.Equal("AWS_IAM", FunctionUrlValues.AuthIam);
        Assert.Equal("BUFFERED", FunctionUrlValues.Buffered);
        Assert.Equal("RESPONSE_STREAM", FunctionUrlValues.ResponseStream);
    }

    [Fact]
    public void Migrations_are_append_only_and_numbered_from_one()
    {
        Assert.Equal(9, MetadataMigrations.All.Count);
        Assert.Contains("CREATE TABLE functions", MetadataMigrations.All[0], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE function_concurrency", MetadataMigrations.All[1], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE function_version_counters", MetadataMigrations.All[2], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE aliases", MetadataMigrations.All[2], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE layer_versions", MetadataMigrations.All[3], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE layer_version_counters", MetadataMigrations.All[3], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE provisioned_concurrency", MetadataMigrations.All[4], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE function_urls", MetadataMigrations.All[5], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE event_source_mappings", MetadataMigrations.All[6], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE function_policies", MetadataMigrations.All[7], StringComparison.Ordinal);
        Assert.Contains("ADD COLUMN environment", MetadataMigrations.All[8], StringComparison.Ordinal);
        Assert.Equal(4, LogMigrations.All.Count);
        Assert.Contains("CREATE TABLE log_events", LogMigrations.All[0], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE log_groups", LogMigrations.All[1], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE log_streams", LogMigrations.All[1], StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE events", LogMigrations.All[2], StringComparison.Ordinal);
        Assert.Contains("id INTEGER PRIMARY KEY AUTOINCREMENT", LogMigrations.All[3], StringComparison.Ordinal);
    }
}
