using Microsoft.AspNetCore.Http;

namespace Nimbus.Http;

/// <summary>Reads request bodies with an explicit limit: the caller decides what "too large" answers.</summary>
internal static class RequestBody
{
    /// <summary>The whole body, or null when it is longer than <paramref name="limit"/> bytes.</summary>
    public static async Task<byte[]?> ReadAsync(HttpContext context, long limit)
    {
        var request = context.Request;
        if (request.Body is BufferedRequestBody { Position: 0 } buffered)
        {
            // Read and hashed by authentication already (every signed Invoke): the same bytes, not a second copy.
            if (buffered.Bytes.Length > limit)
            {
                return null;
            }

            buffered.Position = buffered.Bytes.Length;
            return buffered.Bytes;
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
