using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Nimbus.Events;
using Nimbus.Storage;

namespace Nimbus.Buckets;

internal sealed partial class BucketsApi
{
    private const string MaxCharacter = "\U0010FFFF";
    private const int SendBlockBytes = 64 * 1024;

    private async Task<S3Error?> PutObjectAsync(HttpContext context, string bucket, string key, string requestId)
    {
        var cancellationToken = context.RequestAborted;
        var rules = await RulesAsync(bucket, cancellationToken).ConfigureAwait(false);
        if (rules is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        var (headers, headerError) = StoredHeaders(context.Request);
        if (headerError is not null)
        {
            return headerError;
        }

        var ifNoneMatch = context.Request.Headers.IfNoneMatch.ToString();
        if (ifNoneMatch.Length > 0 && ifNoneMatch != "*")
        {
            return S3Error.NotImplemented("If-None-Match on PutObject other than '*'");
        }

        var (body, error) = UploadBody.Open(context.Request, verifiers, S3Wire.MaxSinglePutBytes);
        if (error is not null)
        {
            return error;
        }

        using (body)
        {
            var staged = await store.StageAsync(body!.Body, body.Observe, S3Wire.MaxSinglePutBytes, cancellationToken).ConfigureAwait(false);
            if (staged is null)
            {
                return S3Error.EntityTooLarge(S3Wire.MaxSinglePutBytes);
            }

            if (body.Verify() is { } digestError)
            {
                store.Discard(staged);
                return digestError;
            }

            var record = new ObjectRecord(bucket, key, staged.Length, body.Md5Hex, time.GetUtcNow(), headers,
                body.Checksum?.Algorithm, body.ChecksumValue, staged.BlobId);
            var change = Change(context, bucket, key, BucketNotificationConfiguration.ObjectCreatedPut, record.Size, record.ETag, requestId);
            var outcome = await CommitAsync(record, rules, change, ifNoneMatch == "*", null, staged, cancellationToken).ConfigureAwait(false);
            if (outcome is not null)
            {
                return outcome;
            }

            context.Response.Headers.ETag = Quote(record.ETag);
            if (body.Checksum is { } checksum)
            {
                context.Response.Headers[checksum.HeaderName] = body.ChecksumValue;
            }

            return null;
        }
    }

    /// <summary>Commits an object with the notifications it triggers, and wakes the notifier; discards the blob when refused.</summary>
    private async Task<S3Error?> CommitAsync(
        ObjectRecord record, IReadOnlyList<NotificationRule> rules, ObjectChange change, bool ifNoneMatch, string? completesUpload, StagedBlob staged, CancellationToken cancellationToken)
    {
        var notifications = notifier.Build(rules, change);

        // The write is acknowledged once this commits: no cancellation from a client that stops waiting.
        var outcome = await store.CommitObjectAsync(record, notifications, ifNoneMatch, completesUpload, CancellationToken.None).ConfigureAwait(false);
        _ = cancellationToken;
        switch (outcome)
        {
            case ObjectCommitOutcome.NoSuchBucket:
                store.Discard(staged);
                return S3Error.NoSuchBucket(record.Bucket);
            case ObjectCommitOutcome.PreconditionFailed:
                store.Discard(staged);
                return S3Error.PreconditionFailed("If-None-Match: the key exists");
            case ObjectCommitOutcome.NoSuchUpload:
                store.Discard(staged);
                return S3Error.NoSuchUpload(completesUpload!);
        }

        if (notifications.Count > 0)
        {
            notifier.Wake();
        }

        return null;
    }

    private async Task<S3Error?> GetObjectAsync(HttpContext context, string bucket, string key)
    {
        var cancellationToken = context.RequestAborted;
        var request = context.Request;
        var response = context.Response;

        // A GET holds the blob open from before its first header: an overwrite or delete committed meanwhile unlinks
        // the file but cannot take the bytes this answer promised. A HEAD sends no bytes and needs the record alone.
        var head = HttpMethods.IsHead(request.Method);
        var (partNumber, partNumberError) = ParsePartNumber(request);
        if (partNumberError is not null)
        {
            return partNumberError;
        }

        await using var opened = head ? null : await store.OpenObjectAsync(bucket, key, cancellationToken).ConfigureAwait(false);
        var record = head ? await store.GetObjectAsync(bucket, key, cancellationToken).ConfigureAwait(false) : opened?.Record;
        if (record is null)
        {
            return await store.GetBucketAsync(bucket, cancellationToken).ConfigureAwait(false) is null ? S3Error.NoSuchBucket(bucket) : S3Error.NoSuchKey(key);
        }

        response.Headers.ETag = Quote(record.ETag);
        response.Headers.LastModified = S3Xml.HttpDate(record.LastModified);
        var condition = EvaluateConditions(request, record);
        if (condition == StatusCodes.Status412PreconditionFailed)
        {
            return S3Error.PreconditionFailed("If-Match / If-Unmodified-Since");
        }

        if (condition == StatusCodes.Status304NotModified)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return null;
        }

        var (offset, count, ranged, rangeError) = partNumber is { } number
            ? PartRange(record, number)
            : ParseRange(request.Headers.Range.ToString(), record.Size);
        if (rangeError is not null)
        {
            return rangeError;
        }

        foreach (var (name, value) in record.Headers)
        {
            response.Headers[name] = value;
        }

        if (!record.Headers.ContainsKey("Content-Type"))
        {
            response.ContentType = S3Wire.DefaultContentType;
        }

        foreach (var (queryName, header) in S3Wire.ResponseOverrides)
        {
            if (request.Query[queryName].ToString() is { Length: > 0 } value)
            {
                response.Headers[header] = value;
            }
        }

        response.Headers.AcceptRanges = "bytes";
        if (!ranged && partNumber is null && record.Checksum is not null && record.ChecksumAlgorithm is not null
            && string.Equals(request.Headers[S3Wire.ChecksumMode], "ENABLED", StringComparison.OrdinalIgnoreCase))
        {
            response.Headers[S3Wire.ChecksumPrefix + record.ChecksumAlgorithm] = record.Checksum;
        }

        if (partNumber is not null && record.Parts is { } parts)
        {
            response.Headers[S3Wire.PartsCountHeader] = parts.Count.ToString(CultureInfo.InvariantCulture);
        }

        if (ranged)
        {
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {offset}-{offset + count - 1}/{record.Size}";
        }

        response.ContentLength = count;
        if (head || count == 0)
        {
            return null;
        }

        await SendAsync(response, opened!.Blob, offset, count, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// Streams <paramref name="count"/> bytes of an open blob from <paramref name="offset"/> straight into the
    /// response's buffers. The response starts with the first block: a failure after it aborts the connection (see
    /// <see cref="HandleAsync"/>), since the status and length are on the wire already.
    /// </summary>
    private static async Task SendAsync(HttpResponse response, Stream blob, long offset, long count, CancellationToken cancellationToken)
    {
        blob.Seek(offset, SeekOrigin.Begin);
        var writer = response.BodyWriter;
        while (count > 0)
        {
            var block = writer.GetMemory((int)Math.Min(count, SendBlockBytes));
            var read = await blob.ReadAsync(block[..(int)Math.Min(block.Length, count)], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new InvalidDataException($"A blob ended {count} bytes before its object's size: the object's record and its blob disagree.");
            }

            writer.Advance(read);
            count -= read;
            var flush = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flush.IsCompleted || flush.IsCanceled)
            {
                // The client is gone: nobody reads the rest.
                return;
            }
        }
    }

    private async Task<S3Error?> DeleteObjectAsync(HttpContext context, string bucket, string key, string requestId)
    {
        var rules = await RulesAsync(bucket, context.RequestAborted).ConfigureAwait(false);
        if (rules is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        await DeleteAsync(context, rules, bucket, key, requestId).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return null;
    }

    private async Task DeleteAsync(HttpContext context, IReadOnlyList<NotificationRule> rules, string bucket, string key, string requestId)
    {
        var notified = false;
        await store.DeleteObjectAsync(bucket, key, _ =>
        {
            var notifications = notifier.Build(rules, Change(context, bucket, key, BucketNotificationConfiguration.ObjectRemovedDelete, null, null, requestId));
            notified = notifications.Count > 0;
            return notifications;
        }, CancellationToken.None).ConfigureAwait(false);
        if (notified)
        {
            notifier.Wake();
        }
    }

    private async Task<S3Error?> DeleteObjectsAsync(HttpContext context, string bucket, string requestId)
    {
        var rules = await RulesAsync(bucket, context.RequestAborted).ConfigureAwait(false);
        if (rules is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        var (body, error) = UploadBody.Open(context.Request, verifiers, 4 * 1024 * 1024);
        if (error is not null)
        {
            return error;
        }

        System.Xml.Linq.XElement? document;
        using (body)
        {
            document = await S3Xml.ReadAsync(body!.Body, context.RequestAborted).ConfigureAwait(false);
        }

        if (document is null || document.Name.LocalName != "Delete")
        {
            return S3Error.MalformedXml();
        }

        var keys = S3Xml.Children(document, "Object").Select(o => S3Xml.Child(o, "Key")).ToList();
        if (keys.Count == 0 || keys.Count > S3Wire.MaxDeleteObjects || keys.Any(k => string.IsNullOrEmpty(k)))
        {
            return S3Error.MalformedXml();
        }

        var quiet = string.Equals(S3Xml.Child(document, "Quiet")?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
        var results = new List<System.Xml.Linq.XElement>();
        foreach (var key in keys)
        {
            if (Encoding.UTF8.GetByteCount(key!) > S3Wire.MaxKeyBytes)
            {
                results.Add(S3Xml.E("Error", S3Xml.E("Key", key), S3Xml.E("Code", "KeyTooLongError"), S3Xml.E("Message", S3Error.KeyTooLong().Message)));
                continue;
            }

            if (await DecideAsync(context, S3Actions.DeleteObject, S3Actions.ObjectArn(bucket, key!)).ConfigureAwait(false) is { Allowed: false })
            {
                results.Add(S3Xml.E("Error", S3Xml.E("Key", key), S3Xml.E("Code", "AccessDenied"), S3Xml.E("Message", "Access Denied")));
                continue;
            }

            await DeleteAsync(context, rules, bucket, key!, requestId).ConfigureAwait(false);
            if (!quiet)
            {
                results.Add(S3Xml.E("Deleted", S3Xml.E("Key", key)));
            }
        }

        await S3Xml.WriteAsync(context, S3Xml.E("DeleteResult", results)).ConfigureAwait(false);
        return null;
    }

    private async Task<S3Error?> CopyObjectAsync(HttpContext context, string bucket, string key, string requestId)
    {
        var cancellationToken = context.RequestAborted;
        var rules = await RulesAsync(bucket, cancellationToken).ConfigureAwait(false);
        if (rules is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        var source = context.Request.Headers[S3Wire.CopySource].ToString();
        var question = source.IndexOf('?', StringComparison.Ordinal);
        if (question >= 0)
        {
            source = source[..question];
        }

        source = Uri.UnescapeDataString(source).TrimStart('/');
        var slash = source.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == source.Length - 1)
        {
            return S3Error.InvalidArgument("Invalid copy source: x-amz-copy-source must be '<bucket>/<key>', URL-encoded.");
        }

        var (sourceBucket, sourceKey) = (source[..slash], source[(slash + 1)..]);

        // The source's record and bytes are read together (its blob held open), however the source key changes meanwhile.
        await using var opened = await store.OpenObjectAsync(sourceBucket, sourceKey, cancellationToken).ConfigureAwait(false);
        if (opened is null)
        {
            return await store.GetBucketAsync(sourceBucket, cancellationToken).ConfigureAwait(false) is null ? S3Error.NoSuchBucket(sourceBucket) : S3Error.NoSuchKey(sourceKey);
        }

        var original = opened.Record;

        if (original.Size > S3Wire.MaxSinglePutBytes)
        {
            return S3Error.InvalidRequest($"The specified copy source is larger than the maximum allowable size for a copy source: {S3Wire.MaxSinglePutBytes}");
        }

        var directive = context.Request.Headers[S3Wire.MetadataDirective].ToString();
        if (directive.Length > 0 && directive is not ("COPY" or "REPLACE"))
        {
            return S3Error.InvalidArgument($"Unknown metadata directive '{directive}': use COPY or REPLACE.");
        }

        var replace = directive == "REPLACE";
        if (!replace && sourceBucket == bucket && sourceKey == key)
        {
            return S3Error.InvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
        }

        IReadOnlyDictionary<string, string> headers = original.Headers;
        if (replace)
        {
            var (replaced, headerError) = StoredHeaders(context.Request);
            if (headerError is not null)
            {
                return headerError;
            }

            headers = replaced;
        }

        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var checksum = original.ChecksumAlgorithm is null ? null : S3Checksum.Create(original.ChecksumAlgorithm);
        var staged = await store.StageRangeAsync(opened.Blob, 0, original.Size, block =>
        {
            md5.AppendData(block.Span);
            checksum?.Append(block.Span);
        }, cancellationToken).ConfigureAwait(false);

        var record = new ObjectRecord(bucket, key, staged.Length, Convert.ToHexStringLower(md5.GetHashAndReset()), time.GetUtcNow(), headers,
            checksum?.Algorithm, checksum?.FinishBase64(), staged.BlobId);
        var change = Change(context, bucket, key, BucketNotificationConfiguration.ObjectCreatedCopy, record.Size, record.ETag, requestId);
        if (await CommitAsync(record, rules, change, false, null, staged, cancellationToken).ConfigureAwait(false) is { } commitError)
        {
            return commitError;
        }

        await S3Xml.WriteAsync(context, S3Xml.E("CopyObjectResult",
            S3Xml.E("ETag", Quote(record.ETag)),
            S3Xml.E("LastModified", S3Xml.Time(record.LastModified)),
            record.Checksum is null ? null : S3Xml.E("Checksum" + record.ChecksumAlgorithm!.ToUpperInvariant(), record.Checksum))).ConfigureAwait(false);
        return null;
    }

    private async Task<S3Error?> ListObjectsAsync(HttpContext context, string bucket, bool v2)
    {
        var query = context.Request.Query;
        if (await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false) is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        var prefix = query[S3Wire.QueryPrefix].ToString();
        var delimiter = query[S3Wire.QueryDelimiter].ToString();
        var encodingType = query[S3Wire.QueryEncodingType].ToString();
        if (encodingType.Length > 0 && encodingType != "url")
        {
            return S3Error.InvalidArgument("Invalid Encoding Method specified in Request");
        }

        var maxKeys = S3Wire.MaxKeys;
        if (query[S3Wire.QueryMaxKeys].ToString() is { Length: > 0 } rawMax)
        {
            if (!int.TryParse(rawMax, NumberStyles.None, CultureInfo.InvariantCulture, out maxKeys))
            {
                return S3Error.InvalidArgument("Provided max-keys not an integer or within integer range");
            }

            maxKeys = Math.Min(maxKeys, S3Wire.MaxKeys);
        }

        var token = query[S3Wire.QueryContinuationToken].ToString();
        var startAfter = query[S3Wire.QueryStartAfter].ToString();
        var marker = query[S3Wire.QueryMarker].ToString();
        string cursor;
        if (v2 && query.ContainsKey(S3Wire.QueryContinuationToken))
        {
            var decoded = DecodeToken(token);
            if (decoded is null)
            {
                return S3Error.InvalidArgument("The continuation token provided is incorrect");
            }

            cursor = decoded;
        }
        else
        {
            cursor = PastCommonPrefix(v2 ? startAfter : marker, prefix, delimiter);
        }

        var (entries, truncated) = maxKeys == 0
            ? ([], false)
            : await store.ListObjectsAsync(bucket, prefix, delimiter.Length > 0 ? delimiter : null, cursor, maxKeys, context.RequestAborted).ConfigureAwait(false);
        var encode = encodingType == "url";
        string? Text(string? value) => value is null ? null : encode ? Uri.EscapeDataString(value) : value;
        var contents = entries.Where(e => e.Object is not null).Select(e => S3Xml.E("Contents",
            S3Xml.E("Key", Text(e.Object!.Key)),
            S3Xml.E("LastModified", S3Xml.Time(e.Object.LastModified)),
            S3Xml.E("ETag", Quote(e.Object.ETag)),
            e.Object.ChecksumAlgorithm is null ? null : S3Xml.E("ChecksumAlgorithm", e.Object.ChecksumAlgorithm.ToUpperInvariant()),
            S3Xml.E("Size", e.Object.Size),
            v2 ? null : Owner(),
            S3Xml.E("StorageClass", S3Wire.StorageClass)));
        var commonPrefixes = entries.Where(e => e.CommonPrefix is not null).Select(e => S3Xml.E("CommonPrefixes", S3Xml.E("Prefix", Text(e.CommonPrefix))));
        var last = entries.Count == 0 ? (ListEntry?)null : entries[^1];
        var next = last is null ? null : last.Value.Object?.Key ?? last.Value.CommonPrefix;
        var nextCursor = last is null ? null : last.Value.Object?.Key ?? last.Value.CommonPrefix + MaxCharacter;
        var root = v2
            ? S3Xml.E("ListBucketResult",
                S3Xml.E("Name", bucket),
                S3Xml.E("Prefix", Text(prefix)),
                delimiter.Length > 0 ? S3Xml.E("Delimiter", Text(delimiter)) : null,
                S3Xml.E("MaxKeys", maxKeys),
                S3Xml.E("KeyCount", entries.Count),
                S3Xml.E("IsTruncated", S3Xml.Bool(truncated)),
                query.ContainsKey(S3Wire.QueryContinuationToken) ? S3Xml.E("ContinuationToken", token) : null,
                truncated && nextCursor is not null ? S3Xml.E("NextContinuationToken", EncodeToken(nextCursor)) : null,
                startAfter.Length > 0 ? S3Xml.E("StartAfter", Text(startAfter)) : null,
                encode ? S3Xml.E("EncodingType", "url") : null,
                contents,
                commonPrefixes)
            : S3Xml.E("ListBucketResult",
                S3Xml.E("Name", bucket),
                S3Xml.E("Prefix", Text(prefix)),
                S3Xml.E("Marker", Text(marker)),
                truncated && next is not null ? S3Xml.E("NextMarker", Text(next)) : null,
                S3Xml.E("MaxKeys", maxKeys),
                delimiter.Length > 0 ? S3Xml.E("Delimiter", Text(delimiter)) : null,
                S3Xml.E("IsTruncated", S3Xml.Bool(truncated)),
                encode ? S3Xml.E("EncodingType", "url") : null,
                contents,
                commonPrefixes);
        await S3Xml.WriteAsync(context, root).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// The listing cursor for a marker or start-after: past the whole common prefix it falls in, since that prefix
    /// was already listed.
    /// </summary>
    private static string PastCommonPrefix(string marker, string prefix, string delimiter)
    {
        if (delimiter.Length > 0 && marker.StartsWith(prefix, StringComparison.Ordinal))
        {
            var at = marker.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
            if (at >= 0)
            {
                return marker[..(at + delimiter.Length)] + MaxCharacter;
            }
        }

        return marker;
    }

    private static string EncodeToken(string cursor) => Convert.ToBase64String(Encoding.UTF8.GetBytes("1:" + cursor));

    private static string? DecodeToken(string token)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            return text.StartsWith("1:", StringComparison.Ordinal) ? text[2..] : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// The conditional GET headers, in RFC 7232's order as S3 applies them: 412, 304, or 200 to go on.
    /// </summary>
    private static int EvaluateConditions(HttpRequest request, ObjectRecord record)
    {
        var lastModified = new DateTimeOffset(record.LastModified.Year, record.LastModified.Month, record.LastModified.Day,
            record.LastModified.Hour, record.LastModified.Minute, record.LastModified.Second, TimeSpan.Zero);
        var headers = request.Headers;
        if (headers.IfMatch.Count > 0)
        {
            if (!ETagMatches(headers.IfMatch.ToString(), record.ETag))
            {
                return StatusCodes.Status412PreconditionFailed;
            }
        }
        else if (TryDate(headers.IfUnmodifiedSince.ToString(), out var unmodifiedSince) && lastModified > unmodifiedSince)
        {
            return StatusCodes.Status412PreconditionFailed;
        }

        if (headers.IfNoneMatch.Count > 0)
        {
            if (ETagMatches(headers.IfNoneMatch.ToString(), record.ETag))
            {
                return StatusCodes.Status304NotModified;
            }
        }
        else if (TryDate(headers.IfModifiedSince.ToString(), out var modifiedSince) && lastModified <= modifiedSince)
        {
            return StatusCodes.Status304NotModified;
        }

        return StatusCodes.Status200OK;
    }

    private static bool TryDate(string value, out DateTimeOffset date) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date);

    private static bool ETagMatches(string list, string etag) =>
        list.Split(',').Select(t => t.Trim().Trim('"')).Any(t => t == "*" || t == etag);

    /// <summary>A single byte range as S3 takes it; a header it cannot parse is ignored (whole object), as S3 does.</summary>
    /// <summary>
    /// GetObject/HeadObject's <c>?partNumber=</c>: null when absent; 400 <c>InvalidArgument</c> when not a part number,
    /// 400 <c>InvalidRequest</c> beside a <c>Range</c> header, as S3 answers.
    /// </summary>
    private static (int? PartNumber, S3Error? Error) ParsePartNumber(HttpRequest request)
    {
        if (!request.Query.TryGetValue(S3Wire.QueryPartNumber, out var raw))
        {
            return (null, null);
        }

        if (raw.Count != 1 || !int.TryParse(raw[0], NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > S3Wire.MaxPartNumber)
        {
            return (null, S3Error.InvalidArgument($"Part number must be an integer between 1 and {S3Wire.MaxPartNumber}, inclusive"));
        }

        return request.Headers.Range.Count > 0
            ? (null, S3Error.InvalidRequest("Cannot specify both Range header and partNumber query parameter"))
            : (number, null);
    }

    /// <summary>
    /// The bytes of part <paramref name="number"/>: a part CompleteMultipartUpload assembled the object from (by the
    /// number it was uploaded with), or part 1 of a single-part object, which is the whole object. Answered as a range
    /// (206, Content-Range) unless the object is empty; 416 <c>InvalidPartNumber</c> for a part it does not have.
    /// </summary>
    private static (long Offset, long Count, bool Ranged, S3Error? Error) PartRange(ObjectRecord record, int number)
    {
        if (record.Parts is not { } parts)
        {
            return number == 1 ? (0, record.Size, record.Size > 0, null) : (0, 0, false, S3Error.InvalidPartNumber(number, 1));
        }

        long offset = 0;
        foreach (var part in parts)
        {
            if (part.Number == number)
            {
                return (offset, part.Size, record.Size > 0 && part.Size > 0, null);
            }

            offset += part.Size;
        }

        return (0, 0, false, S3Error.InvalidPartNumber(number, parts.Count));
    }

    private static (long Offset, long Count, bool Ranged, S3Error? Error) ParseRange(string header, long size)
    {
        if (!RangeHeaderValue.TryParse(header, out var range) || range.Unit != "bytes" || range.Ranges.Count != 1)
        {
            return (0, size, false, null);
        }

        var item = range.Ranges.First();
        long start;
        long end;
        if (item.From is null)
        {
            var suffix = item.To ?? 0;
            if (suffix <= 0 || size == 0)
            {
                return (0, 0, false, S3Error.InvalidRange(size));
            }

            start = Math.Max(0, size - suffix);
            end = size - 1;
        }
        else
        {
            start = item.From.Value;
            end = Math.Min(item.To ?? size - 1, size - 1);
            if (start >= size || (item.To is { } to && to < start))
            {
                return (0, 0, false, S3Error.InvalidRange(size));
            }
        }

        return (start, end - start + 1, true, null);
    }

    /// <summary>The headers a PUT (or CreateMultipartUpload, or a REPLACE copy) stores: standard ones and x-amz-meta-*.</summary>
    private static (Dictionary<string, string> Headers, S3Error? Error) StoredHeaders(HttpRequest request)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in S3Wire.StoredHeaders)
        {
            if (request.Headers.TryGetValue(name, out var value) && value.ToString() is { Length: > 0 } text)
            {
                if (name == "Content-Encoding")
                {
                    // aws-chunked describes this request's framing, not the object.
                    text = string.Join(",", text.Split(',').Select(p => p.Trim()).Where(p => !p.Equals(S3Wire.AwsChunkedEncoding, StringComparison.OrdinalIgnoreCase)));
                    if (text.Length == 0)
                    {
                        continue;
                    }
                }

                headers[name] = text;
            }
        }

        var metadataBytes = 0;
        foreach (var (name, value) in request.Headers)
        {
            if (name.StartsWith(S3Wire.MetaPrefix, StringComparison.OrdinalIgnoreCase))
            {
                var lower = name.ToLowerInvariant();
                headers[lower] = value.ToString();
                metadataBytes += Encoding.UTF8.GetByteCount(lower[S3Wire.MetaPrefix.Length..]) + Encoding.UTF8.GetByteCount(value.ToString());
            }
        }

        return metadataBytes > S3Wire.MaxUserMetadataBytes ? (headers, S3Error.MetadataTooLarge()) : (headers, null);
    }

    private static string Quote(string etag) => "\"" + etag + "\"";
}
