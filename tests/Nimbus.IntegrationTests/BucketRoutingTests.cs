using System.Net;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Nimbus.IntegrationTests;

/// <summary>
/// A node outside us-east-1 (eu-west-1): re-creating a bucket you own is 409 BucketAlreadyOwnedByYou there, and
/// buckets named like a Lambda API version (<c>2015-03-31</c>, <c>2018-06-01</c>) are S3 buckets on path-style S3
/// requests while Lambda keeps its own routes.
/// </summary>
public sealed class BucketRoutingTests
{
    private const string Region = "eu-west-1";

    [Fact]
    public async Task Buckets_named_like_Lambda_API_versions_are_S3_buckets_and_recreating_a_bucket_outside_us_east_1_is_a_conflict()
    {
        using var data = new TempDirectory("nimbus-it-routing");
        await using var server = await NimbusServer.StartAsync(data.Path, new Dictionary<string, string> { ["NIMBUS_REGION"] = Region });
        await Failures.WithContextAsync(
            async () =>
            {
                using var s3 = new AmazonS3Client(new BasicAWSCredentials(NimbusServer.RootAccessKeyId, NimbusServer.RootSecretAccessKey), new AmazonS3Config
                {
                    ServiceURL = server.Endpoint,
                    ForcePathStyle = true,
                    AuthenticationRegion = Region,
                    MaxErrorRetry = 0,
                });

                var bucket = BucketCliTests.NewBucketName();
                await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
                var again = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket }));
                Assert.Equal(("BucketAlreadyOwnedByYou", HttpStatusCode.Conflict), (again.ErrorCode, again.StatusCode));

                foreach (var name in (string[])["2015-03-31", "2018-06-01"])
                {
                    await s3.PutBucketAsync(new PutBucketRequest { BucketName = name });
                    await s3.PutObjectAsync(new PutObjectRequest { BucketName = name, Key = "x", ContentBody = "in " + name });
                    await s3.PutObjectAsync(new PutObjectRequest { BucketName = name, Key = "dir/y", ContentBody = "y" });
                    using (var get = await s3.GetObjectAsync(name, "x"))
                    using (var reader = new StreamReader(get.ResponseStream, Encoding.UTF8))
                    {
                        Assert.Equal("in " + name, await reader.ReadToEndAsync());
                    }

                    var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = name, Delimiter = "/" });
                    Assert.Equal(["x"], (listed.S3Objects ?? []).Select(o => o.Key));
                    Assert.Equal(["dir/"], listed.CommonPrefixes ?? []);
                    await s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = name, Objects = [new KeyVersion { Key = "x" }, new KeyVersion { Key = "dir/y" }] });
                    await s3.DeleteBucketAsync(name);
                }

                // Signed for Lambda (or not at all), an unknown Lambda-looking path is still Lambda's unknown operation.
                using var http = new HttpClient(new SigV4SigningHandler(NimbusServer.RootAccessKeyId, NimbusServer.RootSecretAccessKey, Region)) { BaseAddress = server.EndpointUri };
                // On a region-specific endpoint the location constraint must name its region, as S3 requires.
                var constrained = BucketCliTests.NewBucketName();
                using (var elsewhere = await http.PutAsync($"/{constrained}", new StringContent("<CreateBucketConfiguration><LocationConstraint>us-west-2</LocationConstraint></CreateBucketConfiguration>")))
                {
                    Assert.Equal(HttpStatusCode.BadRequest, elsewhere.StatusCode);
                    Assert.Contains("<Code>IllegalLocationConstraintException</Code>", await elsewhere.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                }

                using (var here = await http.PutAsync($"/{constrained}", new StringContent($"<CreateBucketConfiguration><LocationConstraint>{Region}</LocationConstraint></CreateBucketConfiguration>")))
                {
                    Assert.Equal(HttpStatusCode.OK, here.StatusCode);
                }

                using var lambda = await http.GetAsync("/2015-03-31/no-such-thing");
                Assert.Equal(HttpStatusCode.NotFound, lambda.StatusCode);
                Assert.Equal("UnknownOperationException", lambda.Headers.GetValues("x-amzn-ErrorType").Single());
            },
            () => server.DescribeOutput());
    }
}
