using Microsoft.AspNetCore.Http;

namespace Nimbus.Http;

/// <summary>Reads request bodies with an explicit limit: the caller decides what "too large" answers.</summary>
internal static class RequestBody
{
    /// <summary>
    /// True when authentication already read the whole body (every signed request with a Content-Length of up to 1 MB,
    /// so every signed Invoke): <paramref name="body"/> is then the same bytes, not a second copy, or null when they are
    /// longer than <paramref name="limit"/>. False: read it with <see cref="ReadAsync"/>.
    /// </summary>
    public static bool TryTakeBuffered(HttpContext context, long limit, out byte[]? body)
    {
        if (context.Request.Body is not BufferedRequestBody { Position: 0 } buffered)
        {
            body = null;
            return false;
        }

        if (buffered.Bytes.Length > limit)
        {
            body = null;
            return true;
        }

        buffered.Position = buffered.Bytes.Length;
        body = buffered.Bytes;
        return true;
    }

    /// <summary>The whole body, or null when it is longer than <paramref name="limit"/> bytes.</summary>
    public static async Task<byte[]?> ReadAsync(HttpContext context, long limit)
    {
        var request = context.Request;
        if (TryTakeBuffered(context, limit, out var bytes))
        {
            return bytes;
        }

        if (request.ContentLength is { } declared)
        {
            if (declared > limit)
            {
                return null;
            }

            var exact = new byte[declared];
            await request.Body.ReadExactlyAsync(exact, context.RequestAborted).ConfigureAwait(false);
            return exact;
        }

        using var buffer = new MemoryStream();
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }
}
