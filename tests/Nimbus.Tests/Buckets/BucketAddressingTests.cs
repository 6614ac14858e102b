using Nimbus.Buckets;
using Nimbus.Events;

namespace Nimbus.Tests.Buckets;

public sealed class BucketAddressingTests
{
    [Theory]
    [InlineData("photos.s3.localhost", "photos")]
    [InlineData("photos.s3.us-east-1.localhost", "photos")]
    [InlineData("my.dotted.bucket.s3.localhost", "my.dotted.bucket")]
    [InlineData("photos.localhost", "photos")]
    [InlineData("s3.localhost", null)]
    [InlineData("s3.us-east-1.localhost", null)]
    [InlineData("localhost", null)]
    [InlineData("127.0.0.1", null)]
    public void Virtual_hosts_name_their_bucket(string host, string? bucket) => Assert.Equal(bucket, BucketAddress.HostBucket(host));

    [Theory]
    [InlineData("abc", null)]
    [InlineData("my-bucket.v2", null)]
    [InlineData("ab", "between 3 and 63")]
    [InlineData("Upper", "lowercase")]
    [InlineData("-start", "begin and end")]
    [InlineData("a..b", "adjacent")]
    [InlineData("192.168.1.1", "IP address")]
    [InlineData("xn--abc", "xn--")]
    public void Bucket_names_follow_S3s_rules(string name, string? problem)
    {
        var found = BucketNames.Problem(name);
        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("incoming/report.csv", "incoming/report.csv")]
    [InlineData("incoming/my report.csv", "incoming/my+report.csv")]
    [InlineData("a+b=c&d", "a%2Bb%3Dc%26d")]
    [InlineData("café", "caf%C3%A9")]
    public void Event_keys_are_form_url_encoded_with_slashes_kept(string key, string encoded) => Assert.Equal(encoded, BucketNotifier.EncodeKey(key));
}
