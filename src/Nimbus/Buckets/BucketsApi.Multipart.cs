using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Nimbus.Events;
using Nimbus.Storage;

namespace Nimbus.Buckets;

internal sealed partial class BucketsApi
{
    private const int MaxCompleteAttempts = 8;

    private async Task<S3Error?> CreateUploadAsync(HttpContext context, string bucket, string key)
    {
        if (await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false) is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        var (headers, error) = StoredHeaders(context.Request);
        if (error is not null)
        {
            return error;
        }

        var upload = await store.CreateUploadAsync(bucket, key, headers, context.RequestAborted).ConfigureAwait(false);
        await S3Xml.WriteAsync(context, S3Xml.E("InitiateMultipartUploadResult",
            S3Xml.E("Bucket", bucket), S3Xml.E("Key", key), S3Xml.E("UploadId", upload.UploadId))).ConfigureAwait(false);
        return null;
    }

    private async Task<S3Error?> UploadPartAsync(HttpContext context, string bucket, string key, string uploadId)
    {
        if (!int.TryParse(context.Request.Query[S3Wire.QueryPartNumber], NumberStyles.None, CultureInfo.InvariantCulture, out var partNumber)
            || partNumber is < 1 or > S3Wire.MaxPartNumber)
        {
            return S3Error.InvalidArgument($"Part number must be an integer between 1 and {S3Wire.MaxPartNumber}, inclusive");
        }

        if (await store.GetUploadAsync(bucket, key, uploadId, context.RequestAborted).ConfigureAwait(false) is null)
        {
            return await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false) is null ? S3Error.NoSuchBucket(bucket) : S3Error.NoSuchUpload(uploadId);
        }

        if (context.Request.Headers.ContainsKey(S3Wire.CopySource))
        {
            return await UploadPartCopyAsync(context, uploadId, partNumber).ConfigureAwait(false);
        }

        var (body, error) = UploadBody.Open(context.Request, verifiers, S3Wire.MaxPartBytes);
        if (error is not null)
        {
            return error;
        }

        using (body)
        {
            var staged = await store.StageAsync(body!.Body, body.Observe, S3Wire.MaxPartBytes, context.RequestAborted).ConfigureAwait(false);
            if (staged is null)
            {
                return S3Error.EntityTooLarge(S3Wire.MaxPartBytes);
            }

            if (body.Verify() is { } digestError)
            {
                store.Discard(staged);
                return digestError;
            }

            var part = new PartRecord(partNumber, staged.Length, body.Md5Hex, time.GetUtcNow(), staged.BlobId);
            if (!await store.PutPartAsync(uploadId, part, CancellationToken.None).ConfigureAwait(false))
            {
                return S3Error.NoSuchUpload(uploadId);
            }

            context.Response.Headers.ETag = Quote(part.ETag);
            if (body.Checksum is { } checksum)
            {
                context.Response.Headers[checksum.HeaderName] = body.ChecksumValue;
            }

            return null;
        }
    }

    /// <summary>
    /// UploadPartCopy: the part's bytes are a range (<c>x-amz-copy-source-range: bytes=first-last</c>) or all of an
    /// existing object, copied blob to blob without passing through the client.
    /// </summary>
    private async Task<S3Error?> UploadPartCopyAsync(HttpContext context, string uploadId, int partNumber)
    {
        var cancellationToken = context.RequestAborted;
        if (CopySource(context.Request.Headers[S3Wire.CopySource].ToString()) is not { } copySource)
        {
            return S3Error.InvalidArgument("Invalid copy source: x-amz-copy-source must be '<bucket>/<key>', URL-encoded.");
        }

        var (sourceBucket, sourceKey) = copySource;

        // The source's record and bytes are read together (its blob held open), however the source key changes meanwhile.
        await using var opened = await store.OpenObjectAsync(sourceBucket, sourceKey, cancellationToken).ConfigureAwait(false);
        if (opened is null)
        {
            return await store.GetBucketAsync(sourceBucket, cancellationToken).ConfigureAwait(false) is null ? S3Error.NoSuchBucket(sourceBucket) : S3Error.NoSuchKey(sourceKey);
        }

        var source = opened.Record;

        long offset = 0;
        var length = source.Size;
        if (context.Request.Headers[S3Wire.CopySourceRange].ToString() is { Length: > 0 } range)
        {
            var match = CopySourceRangePattern().Match(range);
            if (!match.Success
                || !long.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !long.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                || last < first)
            {
                return S3Error.InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy");
            }

            if (last >= source.Size)
            {
                return S3Error.InvalidArgument($"Range specified is not valid for source object of size: {source.Size}");
            }

            (offset, length) = (first, last - first + 1);
        }

        if (length > S3Wire.MaxPartBytes)
        {
            return S3Error.InvalidRequest($"The specified copy source is larger than the maximum allowable size for a copy source: {S3Wire.MaxPartBytes}");
        }

        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var staged = await store.StageRangeAsync(opened.Blob, offset, length, block => md5.AppendData(block.Span), cancellationToken).ConfigureAwait(false);
        var part = new PartRecord(partNumber, staged.Length, Convert.ToHexStringLower(md5.GetHashAndReset()), time.GetUtcNow(), staged.BlobId);
        if (!await store.PutPartAsync(uploadId, part, CancellationToken.None).ConfigureAwait(false))
        {
            return S3Error.NoSuchUpload(uploadId);
        }

        await S3Xml.WriteAsync(context, S3Xml.E("CopyPartResult",
            S3Xml.E("ETag", Quote(part.ETag)),
            S3Xml.E("LastModified", S3Xml.Time(part.LastModified)))).ConfigureAwait(false);
        return null;
    }

    /// <summary>The stored parts a CompleteMultipartUpload names, in its order, or the S3 error it deserves.</summary>
    private static (List<PartRecord>? Parts, S3Error? Error) ChosenParts(List<(int Number, string ETag)> requested, Dictionary<int, PartRecord> stored)
    {
        var parts = new List<PartRecord>(requested.Count);
        foreach (var (number, etag) in requested)
        {
            if (!stored.TryGetValue(number, out var part) || !string.Equals(part.ETag, etag, StringComparison.OrdinalIgnoreCase))
            {
                return (null, S3Error.InvalidPart(number));
            }

            parts.Add(part);
        }

        for (var i = 0; i < parts.Count - 1; i++)
        {
            if (parts[i].Size < S3Wire.MinPartBytes)
            {
                return (null, S3Error.EntityTooSmall(parts[i].PartNumber));
            }
        }

        return (parts, null);
    }

    /// <summary>The bucket and key of an <c>x-amz-copy-source</c> (<c>[/]bucket/key[?versionId=...]</c>, URL-encoded); null when malformed.</summary>
    private static (string Bucket, string Key)? CopySource(string header)
    {
        var question = header.IndexOf('?', StringComparison.Ordinal);
        var source = Uri.UnescapeDataString(question >= 0 ? header[..question] : header).TrimStart('/');
        var slash = source.IndexOf('/', StringComparison.Ordinal);
        return slash <= 0 || slash == source.Length - 1 ? null : (source[..slash], source[(slash + 1)..]);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^bytes=(\d+)-(\d+)$")]
    private static partial System.Text.RegularExpressions.Regex CopySourceRangePattern();

    private async Task<S3Error?> CompleteUploadAsync(HttpContext context, string bucket, string key, string uploadId, string requestId)
    {
        var cancellationToken = context.RequestAborted;
        var rules = await RulesAsync(bucket, cancellationToken).ConfigureAwait(false);
        if (rules is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        var upload = await store.GetUploadAsync(bucket, key, uploadId, cancellationToken).ConfigureAwait(false);
        if (upload is null)
        {
            return S3Error.NoSuchUpload(uploadId);
        }

        var (body, openError) = UploadBody.Open(context.Request, verifiers, 4 * 1024 * 1024);
        if (openError is not null)
        {
            return openError;
        }

        System.Xml.Linq.XElement? document;
        using (body)
        {
            document = await S3Xml.ReadAsync(body!.Body, cancellationToken).ConfigureAwait(false);
        }

        if (document is null || document.Name.LocalName != "CompleteMultipartUpload")
        {
            return S3Error.MalformedXml();
        }

        var requested = new List<(int Number, string ETag)>();
        foreach (var element in S3Xml.Children(document, "Part"))
        {
            if (!int.TryParse(S3Xml.Child(element, "PartNumber"), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                return S3Error.MalformedXml();
            }

            requested.Add((number, (S3Xml.Child(element, "ETag") ?? "").Trim().Trim('"')));
        }

        if (requested.Count == 0)
        {
            return S3Error.MalformedXml();
        }

        for (var i = 1; i < requested.Count; i++)
        {
            if (requested[i].Number <= requested[i - 1].Number)
            {
                return S3Error.InvalidPartOrder();
            }
        }

        // A part uploaded again, or the upload completed or aborted by another request, unlinks part blobs this one may
        // be about to read: the concatenation then comes back null and the parts are read and checked anew.
        StagedBlob? staged = null;
        var etagValue = "";
        List<PartRecord> chosen = [];
        for (var attempt = 1; staged is null; attempt++)
        {
            var stored = (await store.ListPartsAsync(uploadId, 0, S3Wire.MaxPartNumber, cancellationToken).ConfigureAwait(false)).ToDictionary(p => p.PartNumber);
            var (parts, partError) = ChosenParts(requested, stored);
            if (partError is not null)
            {
                // Parts gone because another request completed or aborted the upload meanwhile: say that, not InvalidPart.
                return await store.GetUploadAsync(bucket, key, uploadId, CancellationToken.None).ConfigureAwait(false) is null ? S3Error.NoSuchUpload(uploadId) : partError;
            }

            // S3's multipart ETag: the MD5 of the parts' binary MD5s, then "-" and the part count.
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            foreach (var part in parts!)
            {
                md5.AppendData(Convert.FromHexString(part.ETag));
            }

            etagValue = $"{Convert.ToHexStringLower(md5.GetHashAndReset())}-{parts.Count}";
            chosen = parts;
            staged = await store.ConcatenateAsync(parts.Select(p => p.BlobId).ToList(), _ => { }, CancellationToken.None).ConfigureAwait(false);
            if (staged is null)
            {
                if (await store.GetUploadAsync(bucket, key, uploadId, CancellationToken.None).ConfigureAwait(false) is null)
                {
                    return S3Error.NoSuchUpload(uploadId);
                }

                if (attempt == MaxCompleteAttempts)
                {
                    return S3Error.SlowDown($"The parts of upload {uploadId} changed {MaxCompleteAttempts} times while they were being assembled; retry once the part uploads have finished.");
                }
            }
        }

        var record = new ObjectRecord(bucket, key, staged.Length, etagValue, time.GetUtcNow(), upload.Headers, null, null, staged.BlobId)
        {
            Parts = chosen.ConvertAll(p => new ObjectPart(p.PartNumber, p.Size)),
        };
        var change = Change(context, bucket, key, BucketNotificationConfiguration.ObjectCreatedCompleteMultipartUpload, record.Size, record.ETag, requestId);
        if (await CommitAsync(record, rules, change, false, uploadId, staged, cancellationToken).ConfigureAwait(false) is { } commitError)
        {
            return commitError;
        }

        var location = $"{context.Request.Scheme}://{context.Request.Host}/{bucket}/{Uri.EscapeDataString(key).Replace("%2F", "/", StringComparison.Ordinal)}";
        await S3Xml.WriteAsync(context, S3Xml.E("CompleteMultipartUploadResult",
            S3Xml.E("Location", location), S3Xml.E("Bucket", bucket), S3Xml.E("Key", key), S3Xml.E("ETag", Quote(record.ETag)))).ConfigureAwait(false);
        return null;
    }

    private async Task<S3Error?> AbortUploadAsync(HttpContext context, string bucket, string key, string uploadId)
    {
        if (!await store.AbortUploadAsync(bucket, key, uploadId, CancellationToken.None).ConfigureAwait(false))
        {
            return await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false) is null ? S3Error.NoSuchBucket(bucket) : S3Error.NoSuchUpload(uploadId);
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return null;
    }

    private async Task<S3Error?> ListPartsAsync(HttpContext context, string bucket, string key, string uploadId)
    {
        var query = context.Request.Query;
        if (await store.GetUploadAsync(bucket, key, uploadId, context.RequestAborted).ConfigureAwait(false) is null)
        {
            return await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false) is null ? S3Error.NoSuchBucket(bucket) : S3Error.NoSuchUpload(uploadId);
        }

        var max = 1_000;
        if (query[S3Wire.QueryMaxParts].ToString() is { Length: > 0 } rawMax && !int.TryParse(rawMax, NumberStyles.None, CultureInfo.InvariantCulture, out max))
        {
            return S3Error.InvalidArgument("Provided max-parts not an integer or within integer range");
        }

        var marker = 0;
        if (query[S3Wire.QueryPartNumberMarker].ToString() is { Length: > 0 } rawMarker && !int.TryParse(rawMarker, NumberStyles.None, CultureInfo.InvariantCulture, out marker))
        {
            return S3Error.InvalidArgument("Provided part-number-marker not an integer or within integer range");
        }

        max = Math.Min(max, 1_000);
        var parts = await store.ListPartsAsync(uploadId, marker, max + 1, context.RequestAborted).ConfigureAwait(false);
        var truncated = parts.Count > max;
        var page = parts.Take(max).ToList();
        await S3Xml.WriteAsync(context, S3Xml.E("ListPartsResult",
            S3Xml.E("Bucket", bucket),
            S3Xml.E("Key", key),
            S3Xml.E("UploadId", uploadId),
            Owner("Initiator"),
            Owner(),
            S3Xml.E("StorageClass", S3Wire.StorageClass),
            S3Xml.E("PartNumberMarker", marker),
            page.Count > 0 ? S3Xml.E("NextPartNumberMarker", page[^1].PartNumber) : null,
            S3Xml.E("MaxParts", max),
            S3Xml.E("IsTruncated", S3Xml.Bool(truncated)),
            page.Select(p => S3Xml.E("Part",
                S3Xml.E("PartNumber", p.PartNumber),
                S3Xml.E("LastModified", S3Xml.Time(p.LastModified)),
                S3Xml.E("ETag", Quote(p.ETag)),
                S3Xml.E("Size", p.Size))))).ConfigureAwait(false);
        return null;
    }

    private async Task<S3Error?> ListUploadsAsync(HttpContext context, string bucket)
    {
        var query = context.Request.Query;
        if (await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false) is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        var max = 1_000;
        if (query[S3Wire.QueryMaxUploads].ToString() is { Length: > 0 } rawMax && !int.TryParse(rawMax, NumberStyles.None, CultureInfo.InvariantCulture, out max))
        {
            return S3Error.InvalidArgument("Provided max-uploads not an integer or within integer range");
        }

        max = Math.Min(max, 1_000);
        var prefix = query[S3Wire.QueryPrefix].ToString();
        var keyMarker = query[S3Wire.QueryKeyMarker].ToString();
        var uploadIdMarker = query[S3Wire.QueryUploadIdMarker].ToString();
        var uploads = await store.ListUploadsAsync(bucket, prefix, keyMarker, uploadIdMarker, max + 1, context.RequestAborted).ConfigureAwait(false);
        var truncated = uploads.Count > max;
        var page = uploads.Take(max).ToList();
        await S3Xml.WriteAsync(context, S3Xml.E("ListMultipartUploadsResult",
            S3Xml.E("Bucket", bucket),
            S3Xml.E("KeyMarker", keyMarker),
            S3Xml.E("UploadIdMarker", uploadIdMarker),
            truncated ? S3Xml.E("NextKeyMarker", page[^1].Key) : null,
            truncated ? S3Xml.E("NextUploadIdMarker", page[^1].UploadId) : null,
            prefix.Length > 0 ? S3Xml.E("Prefix", prefix) : null,
            S3Xml.E("MaxUploads", max),
            S3Xml.E("IsTruncated", S3Xml.Bool(truncated)),
            page.Select(u => S3Xml.E("Upload",
                S3Xml.E("Key", u.Key),
                S3Xml.E("UploadId", u.UploadId),
                Owner("Initiator"),
                Owner(),
                S3Xml.E("StorageClass", S3Wire.StorageClass),
                S3Xml.E("Initiated", S3Xml.Time(u.Initiated)))))).ConfigureAwait(false);
        return null;
    }
}
