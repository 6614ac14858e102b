using Nimbus.Security;

namespace Nimbus.Tests.Security;

/// <summary>Known-answer vectors from AWS's documented aws-chunked upload example (S3 API reference, "sigv4-streaming").</summary>
public sealed class AwsChunkSignatureVerifierTests
{
    private const string Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private const string AmzDate = "20130524T000000Z";
    private const string Scope = "20130524/us-east-1/s3/aws4_request";
    private const string Seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

    private static AwsChunkSignatureVerifier NewVerifier() =>
        new(SigV4.SigningKey(Secret, "20130524", "us-east-1", "s3"), AmzDate, Scope, Seed);

    [Fact]
    public void The_three_chunks_of_AWSs_example_verify_in_order()
    {
        var verifier = NewVerifier();

        Assert.True(verifier.VerifyChunk(Filled(65536), "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"));
        Assert.True(verifier.VerifyChunk(Filled(1024), "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"));
        Assert.True(verifier.VerifyChunk([], "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"));
    }

    [Fact]
    public void A_changed_byte_or_a_chunk_out_of_order_fails()
    {
        var tampered = Filled(65536);
        tampered[100] = (byte)'b';
        Assert.False(NewVerifier().VerifyChunk(tampered, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"));
        Assert.False(NewVerifier().VerifyChunk(Filled(1024), "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"));
    }

    [Fact]
    public void A_signed_trailer_verifies_over_the_last_chunk_signature()
    {
        var key = SigV4.SigningKey(Secret, "20130524", "us-east-1", "s3");
        var verifier = NewVerifier();
        var last = AwsChunkSignatureVerifier.SignChunk(key, AmzDate, Scope, Seed, []);
        Assert.True(verifier.VerifyChunk([], last));
        const string Trailer = "x-amz-checksum-crc32:sOO8/Q==\n";
        var trailerSignature = SigV4.Sign(key, $"AWS4-HMAC-SHA256-TRAILER\n{AmzDate}\n{Scope}\n{last}\n{SigV4.Sha256Hex(Trailer)}");

        Assert.True(verifier.VerifyTrailer(Trailer, trailerSignature));
        Assert.False(verifier.VerifyTrailer("x-amz-checksum-crc32:AAAAAA==\n", trailerSignature));
    }

    private static byte[] Filled(int length) => Enumerable.Repeat((byte)'a', length).ToArray();
}
