using System.Net;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The object store through AWSSDK.S3 4.0 (which sends PutObject and UploadPart as aws-chunked with a signed CRC32
/// trailer): objects, metadata, ranges, conditions, copies, listings, batch deletes, multipart uploads and S3's
/// error codes.
/// </summary>
public sealed class S3SdkTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    internal static AmazonS3Client Client(NimbusServer server) => new(new BasicAWSCredentials("test", "test"), new AmazonS3Config
    {
        ServiceURL = server.Endpoint,
        ForcePathStyle = true,
        AuthenticationRegion = Aws.Region,
        MaxErrorRetry = 0,
    });

    [Fact]
    public Task Dotnet_SDK_puts_gets_lists_and_uploads_multipart_with_TransferUtility() => fixture.RunAsync(async scope =>
    {
        using var s3 = Client(scope.Server);
        var bucket = BucketCliTests.NewBucketName();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });

        var put = await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = "sdk/hello.txt",
            ContentBody = "hello from .NET",
            ContentType = "text/plain",
            Metadata = { ["origin"] = "dotnet" },
        });
        Assert.Equal($"\"{S3Md5.Hex(Encoding.UTF8.GetBytes("hello from .NET"))}\"", put.ETag);
        Assert.False(string.IsNullOrEmpty(put.ChecksumCRC32));

        using (var get = await s3.GetObjectAsync(bucket, "sdk/hello.txt"))
        using (var reader = new StreamReader(get.ResponseStream))
        {
            Assert.Equal("hello from .NET", await reader.ReadToEndAsync());
            Assert.Equal("text/plain", get.Headers.ContentType);
            Assert.Equal("dotnet", get.Metadata["origin"]);
        }

        var large = RandomNumberGenerator.GetBytes(20 * 1024 * 1024);
        using (var transfer = new TransferUtility(s3))
        {
            await transfer.UploadAsync(new TransferUtilityUploadRequest
            {
                BucketName = bucket,
                Key = "sdk/large.bin",
                InputStream = new MemoryStream(large),
                PartSize = 5 * 1024 * 1024,
            });
        }

        var head = await s3.GetObjectMetadataAsync(bucket, "sdk/large.bin");
        Assert.Equal(large.Length, head.ContentLength);
        Assert.EndsWith("-4\"", head.ETag, StringComparison.Ordinal);
        Assert.Equal(large[10..20], await ReadAsync(s3, new GetObjectRequest { BucketName = bucket, Key = "sdk/large.bin", ByteRange = new ByteRange(10, 19) }));

        var list = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "sdk/" });
        Assert.Equal(["sdk/hello.txt", "sdk/large.bin"], list.S3Objects.Select(o => o.Key));
        Assert.Equal("NoSuchKey", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(bucket, "sdk/missing"))).ErrorCode);
    });

    [Fact]
    public Task Objects_keep_metadata_and_answer_ranges_conditions_overrides_and_copies() => fixture.RunAsync(async scope =>
    {
        using var s3 = Client(scope.Server);
        var bucket = BucketCliTests.NewBucketName();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        var put = await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = "data/report.csv",
            ContentBody = "a,b\n1,2\n",
            ContentType = "text/csv",
            Metadata = { ["owner"] = "alice", ["stage"] = "raw" },
            Headers = { CacheControl = "max-age=60" },
        });

        using (var get = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = "data/report.csv", ByteRange = new ByteRange(2, 4) }))
        {
            Assert.Equal(HttpStatusCode.PartialContent, get.HttpStatusCode);
            Assert.Equal("bytes 2-4/8", get.ContentRange);
            Assert.Equal("text/csv", get.Headers.ContentType);
            Assert.Equal("max-age=60", get.Headers.CacheControl);
            Assert.Equal("alice", get.Metadata["owner"]);
            Assert.Equal("b\n1", await new StreamReader(get.ResponseStream).ReadToEndAsync());
        }

        using (var overridden = await s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = bucket,
            Key = "data/report.csv",
            ResponseHeaderOverrides = new ResponseHeaderOverrides { ContentType = "application/x-test", ContentDisposition = "attachment" },
        }))
        {
            Assert.Equal("application/x-test", overridden.Headers.ContentType);
            Assert.Equal("attachment", overridden.Headers.ContentDisposition);
        }

        var notModified = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = "data/report.csv", EtagToNotMatch = put.ETag }));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        using (await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = "data/report.csv", EtagToMatch = put.ETag }))
        {
        }

        Assert.Equal("PreconditionFailed", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = bucket,
            Key = "data/report.csv",
            EtagToMatch = "\"0000\"",
        }))).ErrorCode);
        Assert.Equal("PreconditionFailed", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = bucket,
            Key = "data/report.csv",
            UnmodifiedSinceDate = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc),
        }))).ErrorCode);
        Assert.Equal("InvalidRange", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = bucket,
            Key = "data/report.csv",
            ByteRange = new ByteRange(20, 30),
        }))).ErrorCode);

        var copy = await s3.CopyObjectAsync(new CopyObjectRequest { SourceBucket = bucket, SourceKey = "data/report.csv", DestinationBucket = bucket, DestinationKey = "copies/report.csv" });
        Assert.Equal(put.ETag, copy.ETag);
        Assert.Equal("raw", (await s3.GetObjectMetadataAsync(bucket, "copies/report.csv")).Metadata["stage"]);
        await s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = bucket,
            SourceKey = "data/report.csv",
            DestinationBucket = bucket,
            DestinationKey = "copies/replaced.csv",
            MetadataDirective = S3MetadataDirective.REPLACE,
            ContentType = "text/plain",
            Metadata = { ["stage"] = "cooked" },
        });
        var replaced = await s3.GetObjectMetadataAsync(bucket, "copies/replaced.csv");
        Assert.Equal("cooked", replaced.Metadata["stage"]);
        Assert.Equal("text/plain", replaced.Headers.ContentType);
        Assert.Equal("InvalidRequest", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = bucket,
            SourceKey = "data/report.csv",
            DestinationBucket = bucket,
            DestinationKey = "data/report.csv",
        }))).ErrorCode);
    });

    [Fact]
    public Task Listings_page_with_delimiters_tokens_start_after_and_markers_and_batch_deletes_remove() => fixture.RunAsync(async scope =>
    {
        using var s3 = Client(scope.Server);
        var bucket = BucketCliTests.NewBucketName();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        foreach (var key in (string[])["p/1", "p/2", "p/3", "p/q/4", "p/q/5", "p/r/6", "z", "p/sp ace+plus"])
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = key });
        }

        // Keys and common prefixes share max-keys, in key order.
        var listed = new List<string>();
        var pages = 0;
        string? token = null;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "p/", Delimiter = "/", MaxKeys = 2, ContinuationToken = token });
            pages++;
            listed.AddRange((page.S3Objects ?? []).Select(o => o.Key).Concat(page.CommonPrefixes ?? []));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);

        Assert.Equal(["p/1", "p/2", "p/3", "p/q/", "p/r/", "p/sp ace+plus"], listed.Order(StringComparer.Ordinal));
        Assert.Equal(3, pages);
        var after = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, StartAfter = "p/q/4" });
        Assert.Equal(["p/q/5", "p/r/6", "p/sp ace+plus", "z"], after.S3Objects.Select(o => o.Key));
        var v1 = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = bucket, Prefix = "p/", Marker = "p/2" });
        Assert.Equal(["p/3", "p/q/4", "p/q/5", "p/r/6", "p/sp ace+plus"], v1.S3Objects.Select(o => o.Key));
        var rolled = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = bucket, Prefix = "p/", Delimiter = "/", Marker = "p/q/" });
        Assert.Equal(["p/r/"], rolled.CommonPrefixes);

        var deleted = await s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = bucket, Objects = [new KeyVersion { Key = "p/1" }, new KeyVersion { Key = "never-existed" }] });
        Assert.Equal(["p/1", "never-existed"], deleted.DeletedObjects.Select(d => d.Key));
        var quiet = await s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = bucket, Quiet = true, Objects = [new KeyVersion { Key = "p/2" }] });
        Assert.Empty(quiet.DeletedObjects ?? []);
        var rest = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "p/" });
        Assert.Equal(["p/3", "p/q/4", "p/q/5", "p/r/6", "p/sp ace+plus"], rest.S3Objects.Select(o => o.Key));
    });

    [Fact]
    public Task Multipart_uploads_list_parts_reject_bad_completions_complete_and_abort() => fixture.RunAsync(async scope =>
    {
        using var s3 = Client(scope.Server);
        var bucket = BucketCliTests.NewBucketName();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        var uploadId = (await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = "mp.bin", ContentType = "application/x-mp" })).UploadId;
        var first = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);
        var second = RandomNumberGenerator.GetBytes(1_000);
        var etag1 = await UploadPartAsync(s3, bucket, "mp.bin", uploadId, 1, first);
        var etag2 = await UploadPartAsync(s3, bucket, "mp.bin", uploadId, 2, second);

        var parts = await s3.ListPartsAsync(new ListPartsRequest { BucketName = bucket, Key = "mp.bin", UploadId = uploadId });
        Assert.Equal([5 * 1024 * 1024, 1_000], parts.Parts.Select(p => p.Size ?? 0));
        var uploads = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = bucket });
        Assert.Contains(uploadId, uploads.MultipartUploads.Select(u => u.UploadId));

        Task<CompleteMultipartUploadResponse> CompleteAsync(string key, string id, params PartETag[] list) =>
            s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = id, PartETags = [.. list] });
        Assert.Equal("InvalidPart", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => CompleteAsync("mp.bin", uploadId, new PartETag(1, etag1), new PartETag(2, "\"00000000000000000000000000000000\"")))).ErrorCode);
        Assert.Equal("InvalidPart", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => CompleteAsync("mp.bin", uploadId, new PartETag(2, etag2), new PartETag(3, etag2)))).ErrorCode);

        var small = (await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = "small.bin" })).UploadId;
        var s1 = await UploadPartAsync(s3, bucket, "small.bin", small, 1, second);
        var s2 = await UploadPartAsync(s3, bucket, "small.bin", small, 2, second);
        Assert.Equal("EntityTooSmall", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => CompleteAsync("small.bin", small, new PartETag(1, s1), new PartETag(2, s2)))).ErrorCode);
        await s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = "small.bin", UploadId = small });
        Assert.Equal("NoSuchUpload", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.ListPartsAsync(new ListPartsRequest { BucketName = bucket, Key = "small.bin", UploadId = small }))).ErrorCode);

        var done = await CompleteAsync("mp.bin", uploadId, new PartETag(1, etag1), new PartETag(2, etag2));
        Assert.Equal($"\"{S3Md5.Hex([.. S3Md5.Hash(first), .. S3Md5.Hash(second)])}-2\"", done.ETag);
        var whole = await ReadAsync(s3, new GetObjectRequest { BucketName = bucket, Key = "mp.bin" });
        Assert.Equal(first.Concat(second).ToArray(), whole);
        Assert.Equal("application/x-mp", (await s3.GetObjectMetadataAsync(bucket, "mp.bin")).Headers.ContentType);
        Assert.Equal("NoSuchUpload", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.ListPartsAsync(new ListPartsRequest { BucketName = bucket, Key = "mp.bin", UploadId = uploadId }))).ErrorCode);
    });

    [Fact]
    public Task Buckets_answer_with_S3_error_codes() => fixture.RunAsync(async scope =>
    {
        using var s3 = Client(scope.Server);
        var bucket = BucketCliTests.NewBucketName();
        Assert.Equal("NoSuchBucket", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(bucket, "k"))).ErrorCode);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket, BucketRegionName = "eu-west-1" });
        Assert.Equal(HttpStatusCode.OK, (await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket })).HttpStatusCode); // us-east-1's legacy answer
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "k", ContentBody = "x" });
        Assert.Equal("BucketNotEmpty", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.DeleteBucketAsync(bucket))).ErrorCode);
        Assert.Equal("InvalidArgument", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.PutBucketNotificationAsync(new PutBucketNotificationRequest
        {
            BucketName = bucket,
            LambdaFunctionConfigurations = [new LambdaFunctionConfiguration { FunctionArn = Aws.FunctionArn("no-such-function"), Events = [EventType.ObjectCreatedAll] }],
        }))).ErrorCode);
        await s3.DeleteObjectAsync(bucket, "k");
        await s3.DeleteObjectAsync(bucket, "never-existed");
        await s3.DeleteBucketAsync(bucket);
        Assert.Equal("NoSuchBucket", (await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.DeleteBucketAsync(bucket))).ErrorCode);
    });

    private static async Task<string> UploadPartAsync(AmazonS3Client s3, string bucket, string key, string uploadId, int number, byte[] data) =>
        (await s3.UploadPartAsync(new UploadPartRequest { BucketName = bucket, Key = key, UploadId = uploadId, PartNumber = number, InputStream = new MemoryStream(data) })).ETag;

    private static async Task<byte[]> ReadAsync(AmazonS3Client s3, GetObjectRequest request)
    {
        using var response = await s3.GetObjectAsync(request);
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
