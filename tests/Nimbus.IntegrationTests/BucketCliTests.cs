using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The S3-compatible object store driven with both AWS CLIs: the high-level <c>aws s3</c> commands a user types
/// (mb, cp small and multipart, ls, sync, presign, rm, rb) and <c>aws s3api</c> for the rest of the operations and
/// S3's error codes.
/// </summary>
[Collection(ServerCollectionDefinition.Name)]
public sealed class BucketCliTests(ServerFixture fixture)
{
    private const int LargeBytes = 50_000_000;

    internal static string NewBucketName() => $"b-{Guid.NewGuid():N}"[..24];

    [Theory]
    [InlineData(AwsCli.V1)]
    [InlineData(AwsCli.V2)]
    public Task S3_commands_make_copy_list_sync_presign_remove_and_remove_the_bucket(string cli) => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(cli);
        var bucket = NewBucketName();
        var dir = scope.ScratchDirectory;
        (await aws.RunAsync(["s3", "mb", $"s3://{bucket}"])).ShouldSucceed();

        var small = Path.Combine(dir, "small.txt");
        await File.WriteAllTextAsync(small, "hello, bucket\n");
        (await aws.RunAsync(["s3", "cp", small, $"s3://{bucket}/docs/small.txt"])).ShouldSucceed();
        var head = (await aws.RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", "docs/small.txt"])).Json();
        Assert.Equal(14, head.GetProperty("ContentLength").GetInt64());
        Assert.Equal("text/plain", head.GetProperty("ContentType").GetString());
        Assert.Equal($"\"{Convert.ToHexStringLower(S3Md5.Hash(Encoding.UTF8.GetBytes("hello, bucket\n")))}\"", head.GetProperty("ETag").GetString());

        // 50 MB: the CLI switches to a multipart upload at 8 MB (8 MB parts), and downloads it back.
        var large = Path.Combine(dir, "large.bin");
        var bytes = RandomNumberGenerator.GetBytes(LargeBytes);
        await File.WriteAllBytesAsync(large, bytes);
        (await aws.RunAsync(["s3", "cp", large, $"s3://{bucket}/large.bin"])).ShouldSucceed();
        var largeHead = (await aws.RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", "large.bin"])).Json();
        Assert.Equal(LargeBytes, largeHead.GetProperty("ContentLength").GetInt64());
        Assert.EndsWith("-6\"", largeHead.GetProperty("ETag").GetString(), StringComparison.Ordinal);
        var downloaded = Path.Combine(dir, "large.out");
        (await aws.RunAsync(["s3", "cp", $"s3://{bucket}/large.bin", downloaded])).ShouldSucceed();
        Assert.Equal(S3Md5.Hash(bytes), S3Md5.Hash(await File.ReadAllBytesAsync(downloaded)));

        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub dir"));
        foreach (var name in (string[])["a.txt", "b.txt", "sub dir/c +1.txt", "sub dir/d.txt"])
        {
            await File.WriteAllTextAsync(Path.Combine(tree, name), name);
        }

        var sync = (await aws.RunAsync(["s3", "sync", tree, $"s3://{bucket}/tree/"])).ShouldSucceed();
        Assert.Equal(4, sync.Stdout.Split('\n').Count(l => l.Contains("upload:", StringComparison.Ordinal)));
        var again = (await aws.RunAsync(["s3", "sync", tree, $"s3://{bucket}/tree/"])).ShouldSucceed();
        Assert.DoesNotContain("upload:", again.Stdout, StringComparison.Ordinal);

        var top = (await aws.RunAsync(["s3", "ls", $"s3://{bucket}/"])).ShouldSucceed().Stdout;
        Assert.Contains("PRE docs/", top, StringComparison.Ordinal);
        Assert.Contains("PRE tree/", top, StringComparison.Ordinal);
        Assert.Contains("large.bin", top, StringComparison.Ordinal);
        var all = (await aws.RunAsync(["s3", "ls", "--recursive", $"s3://{bucket}/"])).ShouldSucceed().Stdout;
        Assert.Contains("tree/sub dir/c +1.txt", all, StringComparison.Ordinal);
        Assert.Equal(6, all.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains(bucket, (await aws.RunAsync(["s3", "ls"])).ShouldSucceed().Stdout, StringComparison.Ordinal);

        var url = (await aws.RunAsync(["s3", "presign", $"s3://{bucket}/tree/sub dir/c +1.txt", "--expires-in", "300"])).ShouldSucceed().Stdout.Trim();
        // v2 presigns with SigV4 query parameters (X-Amz-Signature), v1 with the older Signature/Expires form.
        Assert.Contains("Signature=", url, StringComparison.Ordinal);
        Assert.Equal("sub dir/c +1.txt", await CurlAsync(url));

        var notEmpty = await aws.RunAsync(["s3", "rb", $"s3://{bucket}"]);
        Assert.True(notEmpty.ExitCode != 0 && notEmpty.Stderr.Contains("(BucketNotEmpty)", StringComparison.Ordinal), notEmpty.ToString());
        var removed = (await aws.RunAsync(["s3", "rm", "--recursive", $"s3://{bucket}/"])).ShouldSucceed();
        Assert.Equal(6, removed.Stdout.Split('\n').Count(l => l.Contains("delete:", StringComparison.Ordinal)));
        (await aws.RunAsync(["s3", "rb", $"s3://{bucket}"])).ShouldSucceed();
        (await aws.RunAsync(["s3api", "head-bucket", "--bucket", bucket])).ShouldFail();
    });

    [Fact]
    public Task S3api_answers_with_S3_error_codes() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var bucket = NewBucketName();
        (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "k", Path.Combine(scope.ScratchDirectory, "o")])).ShouldFailWith("NoSuchBucket");
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", "Bad_Name"])).ShouldFailWith("InvalidBucketName");
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", "ab"])).ShouldFailWith("InvalidBucketName");
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", bucket, "--create-bucket-configuration", "LocationConstraint=eu-west-1"])).ShouldSucceed();
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", bucket])).ShouldFailWith("BucketAlreadyOwnedByYou");
        (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "missing", Path.Combine(scope.ScratchDirectory, "o")])).ShouldFailWith("NoSuchKey");
        (await aws.RunAsync(["s3api", "put-object", "--bucket", bucket, "--key", "k", "--body", WriteFile(scope, "k", "0123456789")])).ShouldSucceed();
        (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "k", "--range", "bytes=20-30", Path.Combine(scope.ScratchDirectory, "o")])).ShouldFailWith("InvalidRange");
        (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "k", "--if-match", "\"0000\"", Path.Combine(scope.ScratchDirectory, "o")])).ShouldFailWith("PreconditionFailed");
        (await aws.RunAsync(["s3api", "delete-bucket", "--bucket", bucket])).ShouldFailWith("BucketNotEmpty");
        (await aws.RunAsync(["s3api", "put-bucket-notification-configuration", "--bucket", bucket, "--notification-configuration",
            $$"""{"LambdaFunctionConfigurations":[{"LambdaFunctionArn":"{{Aws.FunctionArn("no-such-function")}}","Events":["s3:ObjectCreated:*"]}]}"""])).ShouldFailWith("InvalidArgument");
        (await aws.RunAsync(["s3api", "delete-object", "--bucket", bucket, "--key", "k"])).ShouldSucceed();
        (await aws.RunAsync(["s3api", "delete-bucket", "--bucket", bucket])).ShouldSucceed();
    });

    [Fact]
    public Task S3api_objects_metadata_ranges_conditions_copies_listings_and_batch_deletes() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var bucket = NewBucketName();
        var output = Path.Combine(scope.ScratchDirectory, "out");
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", bucket])).ShouldSucceed();
        var put = (await aws.RunAsync(["s3api", "put-object", "--bucket", bucket, "--key", "data/report.csv", "--body", WriteFile(scope, "r", "a,b\n1,2\n"),
            "--content-type", "text/csv", "--metadata", "owner=alice,stage=raw", "--cache-control", "max-age=60"])).Json();
        var etag = put.GetProperty("ETag").GetString()!;

        var get = (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "data/report.csv", "--range", "bytes=2-4", output])).Json();
        Assert.Equal("b\n1", await File.ReadAllTextAsync(output));
        Assert.Equal("bytes 2-4/8", get.GetProperty("ContentRange").GetString());
        Assert.Equal("text/csv", get.GetProperty("ContentType").GetString());
        Assert.Equal("max-age=60", get.GetProperty("CacheControl").GetString());
        Assert.Equal("alice", get.GetProperty("Metadata").GetProperty("owner").GetString());
        var overridden = (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "data/report.csv", "--response-content-type", "application/x-test", output])).Json();
        Assert.Equal("application/x-test", overridden.GetProperty("ContentType").GetString());

        // If-None-Match on the current ETag: 304, which botocore reports as an error "Not Modified".
        var notModified = await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "data/report.csv", "--if-none-match", etag, output]);
        Assert.Contains("304", notModified.Stderr + notModified.Stdout, StringComparison.Ordinal);
        (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "data/report.csv", "--if-match", etag, output])).ShouldSucceed();
        (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "data/report.csv", "--if-unmodified-since", "2001-01-01T00:00:00Z", output])).ShouldFailWith("PreconditionFailed");

        var copy = (await aws.RunAsync(["s3api", "copy-object", "--bucket", bucket, "--key", "copies/report.csv", "--copy-source", $"{bucket}/data/report.csv"])).Json();
        Assert.Equal(etag, copy.GetProperty("CopyObjectResult").GetProperty("ETag").GetString());
        var copied = (await aws.RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", "copies/report.csv"])).Json();
        Assert.Equal("raw", copied.GetProperty("Metadata").GetProperty("stage").GetString());
        (await aws.RunAsync(["s3api", "copy-object", "--bucket", bucket, "--key", "copies/replaced.csv", "--copy-source", $"{bucket}/data/report.csv",
            "--metadata-directive", "REPLACE", "--metadata", "stage=cooked", "--content-type", "text/plain"])).ShouldSucceed();
        var replaced = (await aws.RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", "copies/replaced.csv"])).Json();
        Assert.Equal("cooked", replaced.GetProperty("Metadata").GetProperty("stage").GetString());
        Assert.Equal("text/plain", replaced.GetProperty("ContentType").GetString());
        (await aws.RunAsync(["s3api", "copy-object", "--bucket", bucket, "--key", "data/report.csv", "--copy-source", $"{bucket}/data/report.csv"])).ShouldFailWith("InvalidRequest");

        foreach (var key in (string[])["p/1", "p/2", "p/3", "p/q/4", "p/q/5", "p/r/6", "z"])
        {
            (await aws.RunAsync(["s3api", "put-object", "--bucket", bucket, "--key", key])).ShouldSucceed();
        }

        // ListObjectsV2 page by page: keys and common prefixes share max-keys, in key order.
        var pages = new List<JsonElement>();
        string? token = null;
        do
        {
            List<string> arguments = ["s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "p/", "--delimiter", "/", "--max-keys", "2", "--no-paginate"];
            if (token is not null)
            {
                arguments.AddRange(["--continuation-token", token]);
            }

            var page = (await aws.RunAsync(arguments)).Json();
            pages.Add(page);
            token = page.TryGetProperty("NextContinuationToken", out var next) ? next.GetString() : null;
        }
        while (token is not null);

        var listed = pages.SelectMany(p => Names(p, "Contents", "Key").Concat(Names(p, "CommonPrefixes", "Prefix"))).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["p/1", "p/2", "p/3", "p/q/", "p/r/"], listed);
        Assert.Equal(3, pages.Count);

        var after = (await aws.RunAsync(["s3api", "list-objects-v2", "--bucket", bucket, "--start-after", "p/q/4", "--no-paginate"])).Json();
        Assert.Equal(["p/q/5", "p/r/6", "z"], Names(after, "Contents", "Key"));
        var v1 = (await aws.RunAsync(["s3api", "list-objects", "--bucket", bucket, "--prefix", "p/", "--marker", "p/2", "--no-paginate"])).Json();
        Assert.Equal(["p/3", "p/q/4", "p/q/5", "p/r/6"], Names(v1, "Contents", "Key"));

        var deleted = (await aws.RunAsync(["s3api", "delete-objects", "--bucket", bucket, "--delete",
            """{"Objects":[{"Key":"p/1"},{"Key":"p/2"},{"Key":"never-existed"}]}"""])).Json();
        Assert.Equal(["p/1", "p/2", "never-existed"], Names(deleted, "Deleted", "Key"));
        var quiet = await aws.RunAsync(["s3api", "delete-objects", "--bucket", bucket, "--delete", """{"Objects":[{"Key":"p/3"}],"Quiet":true}"""]);
        Assert.DoesNotContain("p/3", quiet.ShouldSucceed().Stdout, StringComparison.Ordinal);
        var rest = (await aws.RunAsync(["s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "p/", "--no-paginate"])).Json();
        Assert.Equal(["p/q/4", "p/q/5", "p/r/6"], Names(rest, "Contents", "Key"));
    });

    [Fact]
    public Task Multipart_uploads_list_parts_reject_bad_completions_complete_and_abort() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var bucket = NewBucketName();
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", bucket])).ShouldSucceed();
        var uploadId = (await aws.RunAsync(["s3api", "create-multipart-upload", "--bucket", bucket, "--key", "mp.bin", "--content-type", "application/x-mp"])).Json()
            .GetProperty("UploadId").GetString()!;
        var first = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);
        var second = RandomNumberGenerator.GetBytes(1_000);
        var etag1 = (await aws.RunAsync(["s3api", "upload-part", "--bucket", bucket, "--key", "mp.bin", "--upload-id", uploadId, "--part-number", "1",
            "--body", WriteFile(scope, "p1", first)])).Json().GetProperty("ETag").GetString()!;
        var etag2 = (await aws.RunAsync(["s3api", "upload-part", "--bucket", bucket, "--key", "mp.bin", "--upload-id", uploadId, "--part-number", "2",
            "--body", WriteFile(scope, "p2", second)])).Json().GetProperty("ETag").GetString()!;

        var parts = (await aws.RunAsync(["s3api", "list-parts", "--bucket", bucket, "--key", "mp.bin", "--upload-id", uploadId])).Json();
        Assert.Equal([5 * 1024 * 1024, 1_000], parts.GetProperty("Parts").EnumerateArray().Select(p => p.GetProperty("Size").GetInt64()));
        var uploads = (await aws.RunAsync(["s3api", "list-multipart-uploads", "--bucket", bucket])).Json();
        Assert.Contains(uploadId, Names(uploads, "Uploads", "UploadId"));

        string Completion(params (int Number, string ETag)[] list) =>
            JsonSerializer.Serialize(new { Parts = list.Select(p => new { PartNumber = p.Number, ETag = p.ETag }) });
        (await aws.RunAsync(["s3api", "complete-multipart-upload", "--bucket", bucket, "--key", "mp.bin", "--upload-id", uploadId,
            "--multipart-upload", Completion((2, etag2), (1, etag1))])).ShouldFailWith("InvalidPartOrder");
        (await aws.RunAsync(["s3api", "complete-multipart-upload", "--bucket", bucket, "--key", "mp.bin", "--upload-id", uploadId,
            "--multipart-upload", Completion((1, etag1), (2, "\"00000000000000000000000000000000\""))])).ShouldFailWith("InvalidPart");
        (await aws.RunAsync(["s3api", "complete-multipart-upload", "--bucket", bucket, "--key", "mp.bin", "--upload-id", uploadId,
            "--multipart-upload", Completion((2, etag2), (3, etag2))])).ShouldFailWith("InvalidPart");

        var small = (await aws.RunAsync(["s3api", "create-multipart-upload", "--bucket", bucket, "--key", "small.bin"])).Json().GetProperty("UploadId").GetString()!;
        var s1 = (await aws.RunAsync(["s3api", "upload-part", "--bucket", bucket, "--key", "small.bin", "--upload-id", small, "--part-number", "1",
            "--body", WriteFile(scope, "s1", second)])).Json().GetProperty("ETag").GetString()!;
        var s2 = (await aws.RunAsync(["s3api", "upload-part", "--bucket", bucket, "--key", "small.bin", "--upload-id", small, "--part-number", "2",
            "--body", WriteFile(scope, "s2", second)])).Json().GetProperty("ETag").GetString()!;
        (await aws.RunAsync(["s3api", "complete-multipart-upload", "--bucket", bucket, "--key", "small.bin", "--upload-id", small,
            "--multipart-upload", Completion((1, s1), (2, s2))])).ShouldFailWith("EntityTooSmall");
        (await aws.RunAsync(["s3api", "abort-multipart-upload", "--bucket", bucket, "--key", "small.bin", "--upload-id", small])).ShouldSucceed();
        (await aws.RunAsync(["s3api", "list-parts", "--bucket", bucket, "--key", "small.bin", "--upload-id", small])).ShouldFailWith("NoSuchUpload");

        var done = (await aws.RunAsync(["s3api", "complete-multipart-upload", "--bucket", bucket, "--key", "mp.bin", "--upload-id", uploadId,
            "--multipart-upload", Completion((1, etag1), (2, etag2))])).Json();
        var expected = S3Md5.Hex([.. S3Md5.Hash(first), .. S3Md5.Hash(second)]) + "-2";
        Assert.Equal($"\"{expected}\"", done.GetProperty("ETag").GetString());
        var output = Path.Combine(scope.ScratchDirectory, "mp.out");
        var get = (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "mp.bin", output])).Json();
        Assert.Equal("application/x-mp", get.GetProperty("ContentType").GetString());
        var whole = await File.ReadAllBytesAsync(output);
        Assert.Equal(first.Concat(second).ToArray(), whole);
        (await aws.RunAsync(["s3api", "list-parts", "--bucket", bucket, "--key", "mp.bin", "--upload-id", uploadId])).ShouldFailWith("NoSuchUpload");
    });

    internal static List<string> Names(JsonElement page, string list, string field) =>
        page.TryGetProperty(list, out var items) ? items.EnumerateArray().Select(i => i.GetProperty(field).GetString()!).ToList() : [];

    private static string WriteFile(TestScope scope, string name, string content) => WriteFile(scope, name, Encoding.UTF8.GetBytes(content));

    private static string WriteFile(TestScope scope, string name, byte[] content)
    {
        var path = Path.Combine(scope.ScratchDirectory, $"{name}-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, content);
        return path;
    }

    private static async Task<string> CurlAsync(string url)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-sS", "--fail-with-body", "--max-time", "30", url])
        {
            start.ArgumentList.Add(argument);
        }

        using var curl = Process.Start(start)!;
        var stdout = curl.StandardOutput.ReadToEndAsync();
        var stderr = curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        Assert.True(curl.ExitCode == 0, $"curl {url} failed (exit {curl.ExitCode}): {await stderr}{await stdout}");
        return await stdout;
    }
}
