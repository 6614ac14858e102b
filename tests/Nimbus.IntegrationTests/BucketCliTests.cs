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
public sealed class BucketCliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
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
        using (var head = await BucketHttpTests.SendAsync(scope.Server.Http, HttpMethod.Head, $"/{bucket}/docs/small.txt"))
        {
            Assert.Equal(14, head.Content.Headers.ContentLength);
            Assert.Equal("text/plain", head.Content.Headers.ContentType?.MediaType);
            Assert.Equal($"\"{S3Md5.Hex(Encoding.UTF8.GetBytes("hello, bucket\n"))}\"", head.Headers.ETag?.Tag);
        }

        // 50 MB: the CLI switches to a multipart upload at 8 MB (8 MB parts), and downloads it back.
        var large = Path.Combine(dir, "large.bin");
        var bytes = RandomNumberGenerator.GetBytes(LargeBytes);
        await File.WriteAllBytesAsync(large, bytes);
        (await aws.RunAsync(["s3", "cp", large, $"s3://{bucket}/large.bin"])).ShouldSucceed();
        using (var head = await BucketHttpTests.SendAsync(scope.Server.Http, HttpMethod.Head, $"/{bucket}/large.bin"))
        {
            Assert.Equal(LargeBytes, head.Content.Headers.ContentLength);
            Assert.EndsWith("-6\"", head.Headers.ETag?.Tag, StringComparison.Ordinal);
        }
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

        Assert.Contains(bucket, (await aws.RunAsync(["s3", "ls"])).ShouldSucceed().Stdout, StringComparison.Ordinal);
        var top = (await aws.RunAsync(["s3", "ls", $"s3://{bucket}/"])).ShouldSucceed().Stdout;
        Assert.Contains("PRE docs/", top, StringComparison.Ordinal);
        Assert.Contains("PRE tree/", top, StringComparison.Ordinal);
        Assert.Contains("large.bin", top, StringComparison.Ordinal);
        var all = (await aws.RunAsync(["s3", "ls", "--recursive", $"s3://{bucket}/"])).ShouldSucceed().Stdout;
        Assert.Contains("tree/sub dir/c +1.txt", all, StringComparison.Ordinal);
        Assert.Equal(6, all.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        var url = (await aws.RunAsync(["s3", "presign", $"s3://{bucket}/tree/sub dir/c +1.txt", "--expires-in", "300"])).ShouldSucceed().Stdout.Trim();
        // v2 presigns with SigV4 query parameters (X-Amz-Signature), v1 with the older Signature/Expires form.
        Assert.Contains("Signature=", url, StringComparison.Ordinal);
        Assert.Equal("sub dir/c +1.txt", await CurlAsync(url));

        var notEmpty = await aws.RunAsync(["s3", "rb", $"s3://{bucket}"]);
        Assert.True(notEmpty.ExitCode != 0 && notEmpty.Stderr.Contains("(BucketNotEmpty)", StringComparison.Ordinal), notEmpty.ToString());
        var removed = (await aws.RunAsync(["s3", "rm", "--recursive", $"s3://{bucket}/"])).ShouldSucceed();
        Assert.Equal(6, removed.Stdout.Split('\n').Count(l => l.Contains("delete:", StringComparison.Ordinal)));
        (await aws.RunAsync(["s3", "rb", $"s3://{bucket}"])).ShouldSucceed();
        using var gone = await BucketHttpTests.SendAsync(scope.Server.Http, HttpMethod.Head, $"/{bucket}");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
    });

    // One CLI is enough here: both run the s3 commands above, and S3SdkTests covers the rest of the operations.
    [Fact]
    public Task S3api_calls_answer_with_S3_error_codes_metadata_and_ranges() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var bucket = NewBucketName();
        var output = Path.Combine(scope.ScratchDirectory, "out");
        (await aws.RunAsync(["s3api", "head-bucket", "--bucket", bucket])).ShouldFail();
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", "Bad_Name"])).ShouldFailWith("InvalidBucketName");
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", bucket, "--create-bucket-configuration", "LocationConstraint=us-east-1"])).ShouldFailWith("InvalidLocationConstraint");
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", bucket, "--create-bucket-configuration", "LocationConstraint=eu-west-1"])).ShouldSucceed();
        // us-east-1 keeps S3's legacy answer to re-creating a bucket you own: 200 (BucketRoutingTests: 409 elsewhere).
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", bucket])).ShouldSucceed();
        (await aws.RunAsync(["s3api", "put-object", "--bucket", bucket, "--key", "data/report.csv", "--body", WriteFile(scope, "r", "a,b\n1,2\n"),
            "--content-type", "text/csv", "--metadata", "owner=alice"])).ShouldSucceed();
        var get = (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "data/report.csv", "--range", "bytes=2-4", output])).Json();
        Assert.Equal("b\n1", await File.ReadAllTextAsync(output));
        Assert.Equal("bytes 2-4/8", get.GetProperty("ContentRange").GetString());
        Assert.Equal("text/csv", get.GetProperty("ContentType").GetString());
        Assert.Equal("alice", get.GetProperty("Metadata").GetProperty("owner").GetString());
        (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "missing", output])).ShouldFailWith("NoSuchKey");
        var listed = (await aws.RunAsync(["s3api", "list-objects-v2", "--bucket", bucket, "--delimiter", "/"])).Json();
        Assert.Equal(["data/"], Names(listed, "CommonPrefixes", "Prefix"));
        (await aws.RunAsync(["s3api", "delete-bucket", "--bucket", bucket])).ShouldFailWith("BucketNotEmpty");
    });

    [Fact]
    public Task Upload_part_copy_copies_ranges_and_aws_s3_cp_copies_a_large_object_between_buckets() => fixture.RunAsync(async scope =>
    {
        const int Part = 5 * 1024 * 1024;
        var aws = scope.Cli(AwsCli.V1);
        var (source, target) = (NewBucketName(), NewBucketName());
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", source])).ShouldSucceed();
        (await aws.RunAsync(["s3api", "create-bucket", "--bucket", target])).ShouldSucceed();
        var bytes = RandomNumberGenerator.GetBytes((12 * 1024 * 1024) + 123);
        (await aws.RunAsync(["s3api", "put-object", "--bucket", source, "--key", "in/big.bin", "--body", WriteFile(scope, "big", bytes), "--content-type", "application/x-test"])).ShouldSucceed();

        // UploadPartCopy with a range per part, then the parts assembled.
        var uploadId = (await aws.RunAsync(["s3api", "create-multipart-upload", "--bucket", target, "--key", "assembled.bin"])).Json().GetProperty("UploadId").GetString()!;
        var copySource = $"{source}/in/big.bin";
        var first = (await aws.RunAsync(["s3api", "upload-part-copy", "--bucket", target, "--key", "assembled.bin", "--upload-id", uploadId, "--part-number", "1",
            "--copy-source", copySource, "--copy-source-range", $"bytes=0-{Part - 1}"])).Json().GetProperty("CopyPartResult");
        Assert.Equal($"\"{S3Md5.Hex(bytes.AsSpan(0, Part).ToArray())}\"", first.GetProperty("ETag").GetString());
        Assert.True(first.TryGetProperty("LastModified", out _), first.ToString());
        var second = (await aws.RunAsync(["s3api", "upload-part-copy", "--bucket", target, "--key", "assembled.bin", "--upload-id", uploadId, "--part-number", "2",
            "--copy-source", copySource, "--copy-source-range", $"bytes={Part}-{bytes.Length - 1}"])).Json().GetProperty("CopyPartResult");
        (await aws.RunAsync(["s3api", "upload-part-copy", "--bucket", target, "--key", "assembled.bin", "--upload-id", uploadId, "--part-number", "3",
            "--copy-source", copySource, "--copy-source-range", $"bytes=0-{bytes.Length}"])).ShouldFailWith("InvalidArgument");
        (await aws.RunAsync(["s3api", "upload-part-copy", "--bucket", target, "--key", "assembled.bin", "--upload-id", uploadId, "--part-number", "3",
            "--copy-source", copySource, "--copy-source-range", "bytes=5-"])).ShouldFailWith("InvalidArgument");
        (await aws.RunAsync(["s3api", "upload-part-copy", "--bucket", target, "--key", "assembled.bin", "--upload-id", uploadId, "--part-number", "3",
            "--copy-source", $"{source}/in/missing.bin"])).ShouldFailWith("NoSuchKey");
        var parts = $$"""{"Parts":[{"ETag":{{first.GetProperty("ETag").GetRawText()}},"PartNumber":1},{"ETag":{{second.GetProperty("ETag").GetRawText()}},"PartNumber":2}]}""";
        var completed = (await aws.RunAsync(["s3api", "complete-multipart-upload", "--bucket", target, "--key", "assembled.bin", "--upload-id", uploadId,
            "--multipart-upload", parts])).Json();
        Assert.EndsWith("-2\"", completed.GetProperty("ETag").GetString(), StringComparison.Ordinal);
        Assert.Equal(S3Md5.Hash(bytes), S3Md5.Hash(await scope.Server.Http.GetByteArrayAsync($"/{target}/assembled.bin")));

        // The CLI copies an object over its 8 MB multipart threshold s3 -> s3 with UploadPartCopy (8 MB parts).
        (await aws.RunAsync(["s3", "cp", $"s3://{source}/in/big.bin", $"s3://{target}/copied.bin"])).ShouldSucceed();
        using (var head = await BucketHttpTests.SendAsync(scope.Server.Http, HttpMethod.Head, $"/{target}/copied.bin"))
        {
            Assert.Equal(bytes.Length, head.Content.Headers.ContentLength);
            Assert.EndsWith("-2\"", head.Headers.ETag?.Tag, StringComparison.Ordinal);
        }

        Assert.Equal(S3Md5.Hash(bytes), S3Md5.Hash(await scope.Server.Http.GetByteArrayAsync($"/{target}/copied.bin")));
    });

    [Fact]
    public Task Get_and_head_object_with_part_number_answer_one_part_as_S3_does_with_boto3_and_the_CLI() => fixture.RunAsync(async scope =>
    {
        const int Part = 5 * 1024 * 1024;
        var bucket = NewBucketName();

        // Parts 1, 3 and 7 (numbers need not be contiguous): 5 MB of 'a', 5 MB of 'b', 100 bytes of 'c'.
        var output = await AuthClients.Boto3Async($$"""
            import boto3, json, os
            from botocore.exceptions import ClientError
            s3 = boto3.client("s3", endpoint_url=os.environ["NIMBUS_ENDPOINT"])
            bucket = "{{bucket}}"
            s3.create_bucket(Bucket=bucket)
            upload = s3.create_multipart_upload(Bucket=bucket, Key="mp.bin")["UploadId"]
            parts = []
            for number, body in ((1, b"a" * {{Part}}), (3, b"b" * {{Part}}), (7, b"c" * 100)):
                etag = s3.upload_part(Bucket=bucket, Key="mp.bin", UploadId=upload, PartNumber=number, Body=body)["ETag"]
                parts.append({"PartNumber": number, "ETag": etag})
            etag = s3.complete_multipart_upload(Bucket=bucket, Key="mp.bin", UploadId=upload, MultipartUpload={"Parts": parts})["ETag"]
            s3.put_object(Bucket=bucket, Key="single.txt", Body=b"hello")
            s3.put_object(Bucket=bucket, Key="empty", Body=b"")
            def read(call, **args):
                try:
                    r = call(Bucket=bucket, **args)
                    body = r["Body"].read() if "Body" in r else b""
                    return {"status": r["ResponseMetadata"]["HTTPStatusCode"], "length": r["ContentLength"], "range": r.get("ContentRange"),
                            "parts": r.get("PartsCount"), "etag": r["ETag"], "kinds": sorted(set(body.decode()))}
                except ClientError as e:
                    return {"status": e.response["ResponseMetadata"]["HTTPStatusCode"], "code": e.response["Error"]["Code"]}
            print(json.dumps({
                "etag": etag,
                "part3": read(s3.get_object, Key="mp.bin", PartNumber=3),
                "part7": read(s3.get_object, Key="mp.bin", PartNumber=7),
                "head1": read(s3.head_object, Key="mp.bin", PartNumber=1),
                "whole": read(s3.head_object, Key="mp.bin"),
                "missing2": read(s3.get_object, Key="mp.bin", PartNumber=2),
                "missing8": read(s3.head_object, Key="mp.bin", PartNumber=8),
                "withRange": read(s3.get_object, Key="mp.bin", PartNumber=1, Range="bytes=0-1"),
                "single1": read(s3.get_object, Key="single.txt", PartNumber=1),
                "single2": read(s3.get_object, Key="single.txt", PartNumber=2),
                "empty1": read(s3.get_object, Key="empty", PartNumber=1),
            }))
            """, scope.Server.Endpoint);
        var results = JsonDocument.Parse(output).RootElement;
        var etag = results.GetProperty("etag").GetString();
        Assert.EndsWith("-3\"", etag, StringComparison.Ordinal);

        var part3 = results.GetProperty("part3");
        Assert.Equal(206, part3.GetProperty("status").GetInt32());
        Assert.Equal(Part, part3.GetProperty("length").GetInt64());
        Assert.Equal($"bytes {Part}-{(2 * Part) - 1}/{(2 * Part) + 100}", part3.GetProperty("range").GetString());
        Assert.Equal(3, part3.GetProperty("parts").GetInt32());
        Assert.Equal(etag, part3.GetProperty("etag").GetString());
        Assert.Equal(["b"], part3.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()));
        var part7 = results.GetProperty("part7");
        Assert.Equal($"bytes {2 * Part}-{(2 * Part) + 99}/{(2 * Part) + 100}", part7.GetProperty("range").GetString());
        Assert.Equal(["c"], part7.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()));
        var head1 = results.GetProperty("head1");
        Assert.Equal(206, head1.GetProperty("status").GetInt32());
        Assert.Equal(Part, head1.GetProperty("length").GetInt64());
        Assert.Equal(3, head1.GetProperty("parts").GetInt32());

        // Without partNumber: the whole object, and no part count (S3 sends it only with partNumber).
        var whole = results.GetProperty("whole");
        Assert.Equal(200, whole.GetProperty("status").GetInt32());
        Assert.Equal((2 * Part) + 100, whole.GetProperty("length").GetInt64());
        Assert.Equal(JsonValueKind.Null, whole.GetProperty("parts").ValueKind);

        // A HEAD's error has no body: boto3 names it by its status.
        foreach (var (missing, code) in (ReadOnlySpan<(string, string)>)[("missing2", "InvalidPartNumber"), ("missing8", "416"), ("single2", "InvalidPartNumber")])
        {
            Assert.Equal(416, results.GetProperty(missing).GetProperty("status").GetInt32());
            Assert.Equal(code, results.GetProperty(missing).GetProperty("code").GetString());
        }

        Assert.Equal(400, results.GetProperty("withRange").GetProperty("status").GetInt32());
        Assert.Equal("InvalidRequest", results.GetProperty("withRange").GetProperty("code").GetString());

        // A single PUT's part 1 is the whole object, without a part count; an empty one answers 200.
        var single1 = results.GetProperty("single1");
        Assert.Equal(206, single1.GetProperty("status").GetInt32());
        Assert.Equal("bytes 0-4/5", single1.GetProperty("range").GetString());
        Assert.Equal(JsonValueKind.Null, single1.GetProperty("parts").ValueKind);
        Assert.Equal(200, results.GetProperty("empty1").GetProperty("status").GetInt32());
        Assert.Equal(0, results.GetProperty("empty1").GetProperty("length").GetInt64());

        // The AWS CLI's --part-number.
        var aws = scope.Cli(AwsCli.V2);
        var file = Path.Combine(scope.ScratchDirectory, "part7.bin");
        var got = (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "mp.bin", "--part-number", "7", file])).Json();
        Assert.Equal(new string('c', 100), await File.ReadAllTextAsync(file));
        Assert.Equal(3, got.GetProperty("PartsCount").GetInt32());
        Assert.Equal(Part, (await aws.RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", "mp.bin", "--part-number", "3"])).Json().GetProperty("ContentLength").GetInt64());
        (await aws.RunAsync(["s3api", "get-object", "--bucket", bucket, "--key", "mp.bin", "--part-number", "8", file])).ShouldFailWith("InvalidPartNumber");
        foreach (var bad in (string[])["0", "10001", "x"])
        {
            using var refused = await BucketHttpTests.SendAsync(scope.Server.Http, HttpMethod.Get, $"/{bucket}/mp.bin?partNumber={bad}");
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("<Code>InvalidArgument</Code>", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
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
