using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Nimbus.IntegrationTests;

/// <summary>
/// The S3 wire details a raw client sees: aws-chunked bodies in every payload mode (reference 2.2), checksum and
/// Content-MD5 verification, virtual-hosted addressing, XML errors, and the fallback that leaves other services'
/// requests alone. Requests are unsigned: signature verification is not part of the object store.
/// </summary>
public sealed class BucketHttpTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Crc32OfHello = "NhCmhg==";

    [Fact]
    public Task Aws_chunked_bodies_decode_in_every_payload_mode_and_trailing_checksums_are_verified() => fixture.RunAsync(async scope =>
    {
        var http = scope.Server.Http;
        var bucket = BucketCliTests.NewBucketName();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Put, $"/{bucket}")).StatusCode);

        // .NET's mode: chunk signatures and a signed CRC32 trailer.
        var signed = "5;chunk-signature=3afc6b746ba92ca915d044be733245f80157f8bb9aa913543c104af2929527e9\r\nhello\r\n"
            + "0;chunk-signature=44210ef2b153ce4fedd1410e11f4f8d3343d1ffe120076ca6b287d07149459b0\r\n"
            + $"x-amz-checksum-crc32:{Crc32OfHello}\r\nx-amz-trailer-signature:7621a78a95dc25b63302fe0dbb9cf0bb19c041e998b166484007f24ef4fa722d\r\n\r\n";
        using (var response = await PutChunkedAsync(http, $"/{bucket}/signed.txt", signed, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", 5, "x-amz-checksum-crc32"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Crc32OfHello, response.Headers.GetValues("x-amz-checksum-crc32").Single());
            Assert.Equal($"\"{Convert.ToHexStringLower(S3Md5.Hash("hello"u8.ToArray()))}\"", response.Headers.ETag!.Tag);
        }

        // Several chunks with signatures, no trailer.
        var body = RandomNumberGenerator.GetBytes(200_000);
        var chunks = new StringBuilder();
        var framed = new MemoryStream();
        foreach (var chunk in body.Chunk(65_536))
        {
            framed.Write(Encoding.ASCII.GetBytes($"{chunk.Length:x};chunk-signature={new string('a', 64)}\r\n"));
            framed.Write(chunk);
            framed.Write("\r\n"u8);
        }

        framed.Write(Encoding.ASCII.GetBytes($"0;chunk-signature={new string('b', 64)}\r\n\r\n"));
        using (var response = await PutChunkedAsync(http, $"/{bucket}/chunks.bin", framed.ToArray(), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", body.Length, null))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(body, await http.GetByteArrayAsync($"/{bucket}/chunks.bin"));

        // Unsigned chunks with a CRC32 trailer (botocore over https, JS v3), right and wrong.
        using (var response = await PutChunkedAsync(http, $"/{bucket}/unsigned.txt", $"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:{Crc32OfHello}\r\n\r\n",
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER", 5, "x-amz-checksum-crc32"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal("hello", await http.GetStringAsync($"/{bucket}/unsigned.txt"));
        using (var response = await PutChunkedAsync(http, $"/{bucket}/bad.txt", "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER", 5, "x-amz-checksum-crc32"))
        {
            await ShouldBeS3ErrorAsync(response, HttpStatusCode.BadRequest, "BadDigest");
        }

        using (var response = await PutChunkedAsync(http, $"/{bucket}/broken.txt", "zz\r\nhello\r\n", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", 5, null))
        {
            await ShouldBeS3ErrorAsync(response, HttpStatusCode.BadRequest, "InvalidRequest");
        }

        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(http, HttpMethod.Head, $"/{bucket}/bad.txt")).StatusCode);
    });

    [Fact]
    public Task Checksum_headers_and_Content_MD5_are_verified_and_echoed() => fixture.RunAsync(async scope =>
    {
        var http = scope.Server.Http;
        var bucket = BucketCliTests.NewBucketName();
        await SendAsync(http, HttpMethod.Put, $"/{bucket}");
        var hello = "hello"u8.ToArray();

        using (var response = await SendAsync(http, HttpMethod.Put, $"/{bucket}/crc", hello, ("x-amz-checksum-crc32", Crc32OfHello)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Crc32OfHello, response.Headers.GetValues("x-amz-checksum-crc32").Single());
        }

        var sha256 = Convert.ToBase64String(SHA256.HashData(hello));
        using (var response = await SendAsync(http, HttpMethod.Put, $"/{bucket}/sha", hello, ("x-amz-checksum-sha256", sha256)))
        {
            Assert.Equal(sha256, response.Headers.GetValues("x-amz-checksum-sha256").Single());
        }

        using (var response = await SendAsync(http, HttpMethod.Put, $"/{bucket}/crcc", hello, ("x-amz-checksum-crc32c", "AAAAAA==")))
        {
            await ShouldBeS3ErrorAsync(response, HttpStatusCode.BadRequest, "BadDigest");
        }

        using (var response = await SendAsync(http, HttpMethod.Put, $"/{bucket}/md5", hello, ("Content-MD5", Convert.ToBase64String(S3Md5.Hash("other"u8.ToArray())))))
        {
            await ShouldBeS3ErrorAsync(response, HttpStatusCode.BadRequest, "BadDigest");
        }

        using (var response = await SendAsync(http, HttpMethod.Put, $"/{bucket}/sig", hello, ("x-amz-content-sha256", new string('0', 64))))
        {
            await ShouldBeS3ErrorAsync(response, HttpStatusCode.BadRequest, "XAmzContentSHA256Mismatch");
        }

        using (var response = await SendAsync(http, HttpMethod.Get, $"/{bucket}/crc", null, ("x-amz-checksum-mode", "ENABLED")))
        {
            Assert.Equal(Crc32OfHello, response.Headers.GetValues("x-amz-checksum-crc32").Single());
        }

        using (var response = await SendAsync(http, HttpMethod.Put, $"/{bucket}/big", [], ("x-amz-decoded-content-length", "5368709121"), ("Content-Encoding", "aws-chunked"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")))
        {
            await ShouldBeS3ErrorAsync(response, HttpStatusCode.BadRequest, "EntityTooLarge");
        }
    });

    [Fact]
    public Task Virtual_hosted_addressing_reaches_the_same_objects_as_path_style() => fixture.RunAsync(async scope =>
    {
        var http = scope.Server.Http;
        var bucket = BucketCliTests.NewBucketName();
        var port = scope.Server.EndpointUri.Port;
        using (var create = new HttpRequestMessage(HttpMethod.Put, "/"))
        {
            create.Headers.Host = $"{bucket}.s3.localhost:{port}";
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(create)).StatusCode);
        }

        using (var put = new HttpRequestMessage(HttpMethod.Put, "/a%20b/c.txt") { Content = new ByteArrayContent("virtual"u8.ToArray()) })
        {
            put.Headers.Host = $"{bucket}.s3.{Aws.Region}.localhost:{port}";
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(put)).StatusCode);
        }

        Assert.Equal("virtual", await http.GetStringAsync($"/{bucket}/a%20b/c.txt"));
        using var list = new HttpRequestMessage(HttpMethod.Get, "/?list-type=2");
        list.Headers.Host = $"{bucket}.localhost:{port}";
        var xml = await (await http.SendAsync(list)).Content.ReadAsStringAsync();
        Assert.Contains("<Key>a b/c.txt</Key>", xml, StringComparison.Ordinal);
        Assert.Contains("<KeyCount>1</KeyCount>", xml, StringComparison.Ordinal);
    });

    [Fact]
    public Task Errors_are_S3_XML_and_other_services_requests_are_not_taken_for_S3() => fixture.RunAsync(async scope =>
    {
        var http = scope.Server.Http;
        var bucket = BucketCliTests.NewBucketName();
        using (var response = await SendAsync(http, HttpMethod.Get, $"/{bucket}/missing"))
        {
            var xml = await ShouldBeS3ErrorAsync(response, HttpStatusCode.NotFound, "NoSuchBucket");
            Assert.Contains($"<BucketName>{bucket}</BucketName>", xml, StringComparison.Ordinal);
            Assert.Contains("<RequestId>", xml, StringComparison.Ordinal);
            Assert.True(response.Headers.Contains("x-amz-request-id"));
            Assert.True(response.Headers.Contains("x-amz-id-2"));
        }

        await SendAsync(http, HttpMethod.Put, $"/{bucket}");
        using (var response = await SendAsync(http, HttpMethod.Head, $"/{bucket}/missing"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }

        // The SDKs sort the parts of CompleteMultipartUpload; a raw client may not.
        using (var initiate = await SendAsync(http, HttpMethod.Post, $"/{bucket}/mp?uploads"))
        {
            var uploadId = System.Xml.Linq.XElement.Parse(await initiate.Content.ReadAsStringAsync()).Elements().Single(e => e.Name.LocalName == "UploadId").Value;
            var complete = "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>\"a\"</ETag></Part><Part><PartNumber>1</PartNumber><ETag>\"b\"</ETag></Part></CompleteMultipartUpload>";
            using var response = await SendAsync(http, HttpMethod.Post, $"/{bucket}/mp?uploadId={uploadId}", Encoding.UTF8.GetBytes(complete));
            await ShouldBeS3ErrorAsync(response, HttpStatusCode.BadRequest, "InvalidPartOrder");
            using var malformed = await SendAsync(http, HttpMethod.Post, $"/{bucket}/mp?uploadId={uploadId}", "<oops"u8.ToArray());
            await ShouldBeS3ErrorAsync(malformed, HttpStatusCode.BadRequest, "MalformedXML");
            using var abort = await SendAsync(http, HttpMethod.Delete, $"/{bucket}/mp?uploadId={uploadId}");
            Assert.Equal(HttpStatusCode.NoContent, abort.StatusCode);
        }

        using (var response = await SendAsync(http, HttpMethod.Get, $"/{bucket}?acl"))
        {
            await ShouldBeS3ErrorAsync(response, HttpStatusCode.NotImplemented, "NotImplemented");
        }

        using (var response = await SendAsync(http, HttpMethod.Get, "/2015-03-31/no-such-thing"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("UnknownOperationException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        }

        using (var response = await SendAsync(http, HttpMethod.Post, "/", "{}"u8.ToArray(), ("X-Amz-Target", "NoSuchService_20990101.DoThing")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.DoesNotContain("<Error>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal("ok\n", await http.GetStringAsync("/health"));
    });

    [Fact]
    public Task Gets_and_copies_of_a_key_being_overwritten_and_deleted_answer_one_whole_object_or_NoSuchKey() => fixture.RunAsync(async scope =>
    {
        var http = scope.Server.Http;
        var bucket = BucketCliTests.NewBucketName();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Put, $"/{bucket}")).StatusCode);
        byte[][] bodies = [.. new[] { 7, 5_000, 90_000, 400_000 }.Select(RandomNumberGenerator.GetBytes)];
        var byETag = bodies.ToDictionary(b => $"\"{Convert.ToHexStringLower(S3Md5.Hash(b))}\"");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Put, $"/{bucket}/hot", bodies[0])).StatusCode);

        // Bounded by count, not time: 2 writers x 40 PUTs of different sizes and 20 DELETEs of one key, while 4 readers
        // GET it (plain and ranged) and 2 copiers copy it, each at most 300 times, as long as the writers write.
        var writing = 3;
        async Task WriteAsync(int writer)
        {
            for (var i = 0; i < 40; i++)
            {
                using var response = await SendAsync(http, HttpMethod.Put, $"/{bucket}/hot", bodies[(writer + i) % bodies.Length]);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            Interlocked.Decrement(ref writing);
        }

        async Task DeleteAsync()
        {
            for (var i = 0; i < 20; i++)
            {
                using var response = await SendAsync(http, HttpMethod.Delete, $"/{bucket}/hot");
                Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            }

            Interlocked.Decrement(ref writing);
        }

        // 200 with exactly the bytes its ETag names, 206 with exactly their range, or 404 NoSuchKey: never a mix.
        async Task<byte[]?> ShouldBeWholeAsync(HttpResponseMessage response, bool ranged)
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                await ShouldBeS3ErrorAsync(response, HttpStatusCode.NotFound, "NoSuchKey");
                return null;
            }

            var bytes = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == (ranged ? HttpStatusCode.PartialContent : HttpStatusCode.OK), $"{(int)response.StatusCode}: {Encoding.UTF8.GetString(bytes.AsSpan(0, Math.Min(bytes.Length, 500)))}");
            var etag = response.Headers.ETag?.Tag ?? "";
            Assert.True(byETag.TryGetValue(etag, out var expected), $"an ETag no PUT wrote: {etag}");
            if (ranged)
            {
                Assert.Equal($"bytes 3-{expected.Length - 1}/{expected.Length}", response.Content.Headers.ContentRange?.ToString());
                expected = expected[3..];
            }

            Assert.Equal(expected, bytes);
            return bytes;
        }

        var reads = 0;
        async Task ReadAsync()
        {
            for (var i = 0; i < 300 && Volatile.Read(ref writing) > 0; i++)
            {
                var ranged = i % 2 == 1;
                using var response = await SendAsync(http, HttpMethod.Get, $"/{bucket}/hot", null, ranged ? [("Range", "bytes=3-")] : []);
                if (await ShouldBeWholeAsync(response, ranged) is not null)
                {
                    Interlocked.Increment(ref reads);
                }
            }
        }

        async Task CopyAsync(int copier)
        {
            for (var i = 0; i < 300 && Volatile.Read(ref writing) > 0; i++)
            {
                using var copy = await SendAsync(http, HttpMethod.Put, $"/{bucket}/copy-{copier}", null, ("x-amz-copy-source", $"/{bucket}/hot"));
                if (copy.StatusCode == HttpStatusCode.NotFound)
                {
                    await ShouldBeS3ErrorAsync(copy, HttpStatusCode.NotFound, "NoSuchKey");
                    continue;
                }

                Assert.True(copy.StatusCode == HttpStatusCode.OK, $"{(int)copy.StatusCode}: {await copy.Content.ReadAsStringAsync()}");
                using var response = await SendAsync(http, HttpMethod.Get, $"/{bucket}/copy-{copier}");
                Assert.NotNull(await ShouldBeWholeAsync(response, ranged: false));
            }
        }

        await Task.WhenAll([WriteAsync(0), WriteAsync(1), DeleteAsync(), .. Enumerable.Range(0, 4).Select(_ => ReadAsync()), CopyAsync(0), CopyAsync(1)]);
        Assert.True(reads > 0, "no GET found the key: the test raced nothing");
    });

    [Fact]
    public Task Concurrent_completions_and_an_abort_of_one_upload_make_one_whole_object_or_answer_NoSuchUpload() => fixture.RunAsync(async scope =>
    {
        var http = scope.Server.Http;
        var bucket = BucketCliTests.NewBucketName();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Put, $"/{bucket}")).StatusCode);
        var body = RandomNumberGenerator.GetBytes(100_000);
        for (var round = 0; round < 3; round++)
        {
            using var initiate = await SendAsync(http, HttpMethod.Post, $"/{bucket}/mp?uploads");
            var uploadId = System.Xml.Linq.XElement.Parse(await initiate.Content.ReadAsStringAsync()).Elements().Single(e => e.Name.LocalName == "UploadId").Value;
            using var part = await SendAsync(http, HttpMethod.Put, $"/{bucket}/mp?partNumber=1&uploadId={uploadId}", body);
            Assert.Equal(HttpStatusCode.OK, part.StatusCode);
            var complete = Encoding.UTF8.GetBytes($"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{part.Headers.ETag!.Tag}</ETag></Part></CompleteMultipartUpload>");

            // Four completions and (in the last round) an abort at once: one completion wins, whole; the rest learn the upload is gone.
            var answers = await Task.WhenAll(Enumerable.Range(0, round == 2 ? 5 : 4).Select(i => i == 4
                ? SendAsync(http, HttpMethod.Delete, $"/{bucket}/mp?uploadId={uploadId}")
                : SendAsync(http, HttpMethod.Post, $"/{bucket}/mp?uploadId={uploadId}", complete)));
            foreach (var answer in answers.Where(a => a.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.NoContent)))
            {
                await ShouldBeS3ErrorAsync(answer, HttpStatusCode.NotFound, "NoSuchUpload");
            }

            var completed = answers.Count(a => a.StatusCode == HttpStatusCode.OK);
            var aborted = answers.Count(a => a.StatusCode == HttpStatusCode.NoContent);
            Assert.Equal(1, completed + aborted);
            if (completed == 1)
            {
                Assert.Equal(body, await http.GetByteArrayAsync($"/{bucket}/mp"));
            }

            foreach (var answer in answers)
            {
                answer.Dispose();
            }
        }
    });

    internal static async Task<string> ShouldBeS3ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var xml = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status} {code}, got {(int)response.StatusCode}: {xml}");
        Assert.Contains($"<Code>{code}</Code>", xml, StringComparison.Ordinal);
        Assert.Equal(S3ContentType, response.Content.Headers.ContentType?.MediaType);
        return xml;
    }

    private const string S3ContentType = "application/xml";

    private static Task<HttpResponseMessage> PutChunkedAsync(HttpClient http, string path, string framed, string mode, long decodedLength, string? trailer) =>
        PutChunkedAsync(http, path, Encoding.ASCII.GetBytes(framed), mode, decodedLength, trailer);

    private static Task<HttpResponseMessage> PutChunkedAsync(HttpClient http, string path, byte[] framed, string mode, long decodedLength, string? trailer)
    {
        List<(string, string)> headers = [("x-amz-content-sha256", mode), ("x-amz-decoded-content-length", decodedLength.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("Content-Encoding", "aws-chunked")];
        if (trailer is not null)
        {
            headers.Add(("x-amz-trailer", trailer));
        }

        return SendAsync(http, HttpMethod.Put, path, framed, [.. headers]);
    }

    internal static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, byte[]? body = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
        }

        foreach (var (name, value) in headers)
        {
            if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                request.Content ??= new ByteArrayContent([]);
                if (name == "Content-MD5")
                {
                    request.Content.Headers.ContentMD5 = Convert.FromBase64String(value);
                }
                else
                {
                    request.Content.Headers.TryAddWithoutValidation(name, value);
                }
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
