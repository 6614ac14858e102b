using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;

namespace Nimbus.IntegrationTests;

/// <summary>The object store through AWSSDK.S3 4.0, which sends PutObject as aws-chunked with a signed CRC32 trailer.</summary>
[Collection(ServerCollectionDefinition.Name)]
public sealed class S3SdkTests(ServerFixture fixture)
{
    [Fact]
    public Task Dotnet_SDK_puts_gets_lists_and_uploads_multipart_with_TransferUtility() => fixture.RunAsync(async scope =>
    {
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("test", "test"), new AmazonS3Config
        {
            ServiceURL = scope.Server.Endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = Aws.Region,
            MaxErrorRetry = 0,
        });
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
        Assert.Equal($"\"{Convert.ToHexStringLower(S3Md5.Hash(Encoding.UTF8.GetBytes("hello from .NET")))}\"", put.ETag);
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
        using (var get = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = "sdk/large.bin", ByteRange = new ByteRange(10, 19) }))
        using (var copy = new MemoryStream())
        {
            await get.ResponseStream.CopyToAsync(copy);
            Assert.Equal(large[10..20], copy.ToArray());
        }

        var list = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "sdk/" });
        Assert.Equal(["sdk/hello.txt", "sdk/large.bin"], list.S3Objects.Select(o => o.Key));
        var error = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(bucket, "sdk/missing"));
        Assert.Equal("NoSuchKey", error.ErrorCode);
    });
}
