using Microsoft.AspNetCore.Http;

namespace Nimbus.Http;

/// <summary>Every AWS response carries <c>x-amzn-RequestId</c>; Invoke reuses it as the invocation's request id.</summary>
internal static class AwsRequestId
{
    public const string Header = "x-amzn-RequestId";

    /// <summary>The request's id, made and set as its response header on first use.</summary>
    public static string Get(HttpContext context)
    {
        // Kept in the response header it is sent in, not in HttpContext.Items: that would be a dictionary per request.
        var headers = context.Response.Headers;
        if (headers.TryGetValue(Header, out var existing) && existing.Count == 1 && existing[0] is { } id)
        {
            return id;
        }

        id = NewId();
        headers[Header] = id;
        return id;
    }

    /// <summary>A random (version 4) UUID in AWS's request id form, e.g. <c>c6af9ac6-7b61-11e6-9a41-93e8deadbeef</c>.</summary>
    public static string NewId()
    {
        // Guid.NewGuid reads /dev/urandom once per call on Linux (a syscall on every request).
        Span<byte> bytes = stackalloc byte[16];
        Security.RandomBlock.Fill(bytes);
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true).ToString();
    }
}
