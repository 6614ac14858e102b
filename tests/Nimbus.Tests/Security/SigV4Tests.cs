using System.Text;
using Microsoft.AspNetCore.Http;
using Nimbus.Security;

namespace Nimbus.Tests.Security;

public sealed class SigV4Tests
{
    // AWS's documented example secret (S3 API reference, "Signature calculations for the Authorization header").
    private const string ExampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    [Fact]
    public void The_per_thread_digests_answer_as_the_one_shot_digests_whatever_key_and_length_comes_next()
    {
        var keys = new[] { SigV4.SigningKey(ExampleSecret, "20130524", "us-east-1", "s3"), new byte[32], SigV4.SigningKey(ExampleSecret, "20130525", "us-east-1", "lambda") };
        keys[1][0] = 1;
        var data = new byte[5000];
        new Random(7).NextBytes(data);
        Span<byte> mac = stackalloc byte[32];
        Span<byte> hash = stackalloc byte[32];
        foreach (var length in new[] { 0, 1, 55, 56, 64, 300, 5000, 300 })
        {
            foreach (var key in keys.Concat(keys.Reverse()).Append((byte[])keys[0].Clone()))
            {
                SigV4.HmacSha256(key, data.AsSpan(0, length), mac);
                Assert.Equal(System.Security.Cryptography.HMACSHA256.HashData(key, data.AsSpan(0, length)), mac.ToArray());
            }

            SigV4.Sha256(data.AsSpan(0, length), hash);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(data.AsSpan(0, length)), hash.ToArray());
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data.AsSpan(0, length))), SigV4.Sha256Hex(data.AsSpan(0, length)));
        }
    }

    [Fact]
    public void Header_signature_matches_AWSs_documented_GetObject_example()
    {
        var request = new DefaultHttpContext().Request;
        request.Method = "GET";
        request.Path = "/test.txt";
        request.Headers.Host = "examplebucket.s3.amazonaws.com";
        request.Headers["Range"] = "bytes=0-9";
        request.Headers["x-amz-content-sha256"] = SigV4.EmptySha256;
        request.Headers["x-amz-date"] = "20130524T000000Z";
        request.Headers.Authorization = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

        Assert.Null(SigV4Signature.TryRead(request, out var signature, out var scope));
        Assert.Equal("s3", scope!.Service);
        var canonical = SigV4Verifier.CanonicalRequest(request, "/test.txt", signature!, SigV4.EmptySha256);

        Assert.True(SigV4Verifier.Matches(signature!, ExampleSecret, canonical, out var key));
        Assert.Equal(SigV4.SigningKey(ExampleSecret, "20130524", "us-east-1", "s3"), key);
        Assert.False(SigV4Verifier.Matches(signature!, ExampleSecret + "x", canonical, out _));

        // The cached key of the first secret answers the same again; upper-case hex is AWS's too; a changed digit or a
        // truncated signature is not.
        Assert.True(SigV4Verifier.Matches(signature!, ExampleSecret, canonical, out _));
        Assert.True(SigV4Verifier.Matches(signature! with { Signature = signature!.Signature.ToUpperInvariant() }, ExampleSecret, canonical, out _));
        Assert.False(SigV4Verifier.Matches(signature! with { Signature = "0" + signature!.Signature[1..] }, ExampleSecret, canonical, out _));
        Assert.False(SigV4Verifier.Matches(signature! with { Signature = signature!.Signature[..62] }, ExampleSecret, canonical, out _));
        Assert.False(SigV4Verifier.Matches(signature!, ExampleSecret, canonical + "\n", out _));
    }

    [Fact]
    public void Non_S3_paths_are_encoded_again_so_an_ARN_colon_becomes_percent_253A()
    {
        Assert.Equal("/2015-03-31/functions/arn%253Aaws%253Alambda/invocations",
            SigV4.CanonicalUri("/2015-03-31/functions/arn%3Aaws%3Alambda/invocations", s3: false));
        Assert.Equal("/bucket/a%3Ab", SigV4.CanonicalUri("/bucket/a%3Ab", s3: true));
        Assert.Equal("/a/c/", SigV4.CanonicalUri("/a/./b/../c/", s3: false));
    }

    [Fact]
    public void Query_is_decoded_reencoded_and_sorted_and_a_key_without_value_gets_an_equals_sign()
    {
        Assert.Equal("Qualifier=%24LATEST&a=&b=x%20y&b=z", SigV4.CanonicalQuery("?b=z&Qualifier=%24LATEST&b=x%20y&a"));
        Assert.Equal("X-Amz-Date=1", SigV4.CanonicalQuery("X-Amz-Signature=abc&X-Amz-Date=1", exclude: "X-Amz-Signature"));
    }

    [Fact]
    public void Header_values_are_trimmed_and_runs_of_spaces_collapsed()
    {
        Assert.Equal("a b c", SigV4.CanonicalHeaderValue("  a   b  c "));
    }

    [Fact]
    public void Requests_older_than_15_minutes_are_skewed_and_presigned_URLs_expire()
    {
        var now = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        var scope = new SigV4Scope("AK", "20261203", "us-east-1", "lambda");
        var old = new SigV4Signature(false, scope, "20261203T114000Z", now.AddMinutes(-20), "host", "00", null, 0);
        var fresh = old with { Timestamp = now.AddMinutes(-14) };
        var presigned = old with { Presigned = true, Timestamp = now.AddSeconds(-61), ExpiresSeconds = 60 };

        Assert.Equal(AuthFailureKind.Skewed, SigV4Verifier.CheckTime(old, now)?.Kind);
        Assert.Null(SigV4Verifier.CheckTime(fresh, now));
        Assert.Equal(AuthFailureKind.PresignExpired, SigV4Verifier.CheckTime(presigned, now)?.Kind);
        Assert.Null(SigV4Verifier.CheckTime(presigned with { ExpiresSeconds = 120 }, now));
    }

    [Theory]
    [InlineData("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AK/2026/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AK/20261203/us-east-1/lambda/aws4_request, SignedHeaders=x-amz-date, Signature=00")]
    [InlineData("AWS AK:signature")]
    public void Incomplete_authorization_headers_are_malformed(string authorization)
    {
        var request = new DefaultHttpContext().Request;
        request.Headers.Authorization = authorization;
        request.Headers["X-Amz-Date"] = "20261203T120000Z";

        Assert.Equal(AuthFailureKind.Malformed, SigV4Signature.TryRead(request, out _, out _)?.Kind);
    }

    [Fact]
    public void No_authorization_at_all_is_missing()
    {
        Assert.Equal(AuthFailureKind.Missing, SigV4Signature.TryRead(new DefaultHttpContext().Request, out _, out _)?.Kind);
    }

    [Fact]
    public void Presigned_expiry_over_a_week_is_malformed()
    {
        var request = new DefaultHttpContext().Request;
        request.QueryString = new QueryString("?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261203T120000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=00");

        var failure = SigV4Signature.TryRead(request, out _, out var scope);

        Assert.Equal(AuthFailureKind.Malformed, failure?.Kind);
        Assert.Equal("s3", scope?.Service);
    }

    [Fact]
    public void Content_sha256_stream_throws_at_the_end_of_a_body_that_does_not_match()
    {
        var body = Encoding.UTF8.GetBytes("hello");
        var good = SigV4.Sha256Hex(body);
        using (var ok = new ContentSha256Stream(new MemoryStream(body), good))
        {
            ok.CopyTo(Stream.Null);
        }

        using var bad = new ContentSha256Stream(new MemoryStream(body), SigV4.EmptySha256);
        Assert.Throws<ContentSha256MismatchException>(() => bad.CopyTo(Stream.Null));
    }

    [Fact]
    public void Sealed_secrets_open_only_with_the_same_associated_data()
    {
        var box = new SecretBox(new byte[32]);
        var sealedValue = box.Seal("s3cret", "AKID1");

        Assert.DoesNotContain("s3cret", sealedValue, StringComparison.Ordinal);
        Assert.Equal("s3cret", box.Open(sealedValue, "AKID1"));
        Assert.Null(box.Open(sealedValue, "AKID2"));
    }

    [Theory]
    [InlineData("/2015-03-31/functions/f/invocations", true)]
    [InlineData("/2021-11-15/functions/f/response-streaming-invocations", true)]
    [InlineData("/nimbus/code/abc.zip", true)]
    [InlineData("/my-bucket/2015-03-31/key", false)]
    [InlineData("/nimbus/admin/users", false)]
    [InlineData("/", false)]
    public void Lambda_paths_are_told_apart_by_their_API_date(string path, bool lambda)
    {
        Assert.Equal(lambda, AwsServices.IsLambdaPath(path));
    }

    [Theory]
    [InlineData("GET", "/2015-03-31/functions/", "lambda:ListFunctions")]
    [InlineData("GET", "/2018-10-31/layers/", "lambda:ListLayers")]
    [InlineData("POST", "/2015-03-31/functions/{functionName}/invocations", "lambda:InvokeFunction")]
    public void Lambda_routes_map_to_AWSs_action_names(string method, string route, string action)
    {
        Assert.True(LambdaActions.TryGet(method, route, out var found, out _));
        Assert.Equal(action, found);
    }

    [Theory]
    [InlineData("20130524T000000Z")]
    [InlineData("20241231T235959Z")]
    [InlineData("20240229T120000Z")]
    [InlineData("00010101T000000Z")]
    [InlineData("20230229T120000Z")]
    [InlineData("00000101T000000Z")]
    [InlineData("20241301T000000Z")]
    [InlineData("20241200T000000Z")]
    [InlineData("20241231T240000Z")]
    [InlineData("20241231T236000Z")]
    [InlineData("20241231T235960Z")]
    [InlineData("20241231 235959Z")]
    [InlineData("20241231T235959")]
    [InlineData("20241231T235959z")]
    [InlineData("2024-12-31T23:59:59Z")]
    [InlineData("2024123aT235959Z")]
    [InlineData("+0241231T235959Z")]
    [InlineData(" 20241231T235959Z")]
    [InlineData("20241231T235959Z ")]
    [InlineData("")]
    [InlineData(null)]
    public void X_Amz_Date_is_read_exactly_as_its_format_reads_it(string? value)
    {
        var expected = DateTimeOffset.TryParseExact(value, SigV4.DateFormat, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var expectedDate);

        Assert.Equal(expected, SigV4.TryParseAmzDate(value, out var date));
        Assert.Equal(expectedDate, date);
        Assert.Equal(TimeSpan.Zero, date.Offset);
    }
}
