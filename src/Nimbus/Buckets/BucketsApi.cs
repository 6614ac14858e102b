using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Events;
using Nimbus.Functions;
using Nimbus.Http;
using Nimbus.Security;
using Nimbus.Storage;

namespace Nimbus.Buckets;

/// <summary>
/// The S3-compatible API (2006-03-01, rest-xml): every request that is not another service's. Tells operations
/// apart as S3 does, by method, bucket/key and sub-resource, and answers in S3's XML with S3's error codes.
/// </summary>
internal sealed partial class BucketsApi(
    IObjectStore store,
    BucketNotifier notifier,
    FunctionService functions,
    IChunkSignatureVerifierFactory verifiers,
    ServiceAuthorization authorization,
    FunctionPolicyService functionPolicies,
    IEventSourceQueues queues,
    IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<BucketsApi> logger)
{
    private readonly ConcurrentDictionary<string, IReadOnlyList<NotificationRule>> _rules = new(StringComparer.Ordinal);

    private string Region => options.Value.Region;

    public async Task HandleAsync(HttpContext context)
    {
        var requestId = AwsRequestId.Get(context);
        context.Response.Headers[S3Wire.RequestIdHeader] = requestId;
        context.Response.Headers[S3Wire.HostIdHeader] = S3Xml.HostId(requestId);
        S3Error? error;
        try
        {
            error = await DispatchAsync(context, BucketAddress.Resolve(context), requestId).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            error = S3Error.InvalidRequest($"The aws-chunked request body is malformed: {e.Message}");
        }
        catch (ChunkSignatureException e)
        {
            error = new S3Error("SignatureDoesNotMatch", 403, e.Message);
        }
        catch (Security.ContentSha256MismatchException)
        {
            // The body streamed to a temporary file that was never committed: nothing is stored.
            error = S3Error.ContentSha256Mismatch();
        }
        catch (Exception e) when (e is BadHttpRequestException or ConnectionResetException || (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested))
        {
            // The client went away or sent less than it declared: nothing was stored, nobody to answer.
            Log.RequestAborted(logger, context.Request.Method, context.Request.Path.Value ?? "/", e.Message);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (context.Response.HasStarted)
            {
                // The status and Content-Length are on the wire: an error body would corrupt the answer the client is
                // reading. Aborting makes it a transfer error the client sees (and SDKs retry), never a wrong object.
                Log.ResponseAborted(logger, context.Request.Method, context.Request.Path.Value ?? "/", context.Response.StatusCode, e);
                context.Abort();
                return;
            }

            Log.UnhandledError(logger, context.Request.Method, context.Request.Path.Value ?? "/", e);
            error = S3Error.InternalError();

            // Drop what the operation had set for its own answer (an object's length, range, encoding...).
            context.Response.Clear();
            context.Response.Headers[S3Wire.RequestIdHeader] = requestId;
            context.Response.Headers[S3Wire.HostIdHeader] = S3Xml.HostId(requestId);
        }

        if (error is not null && context.Response.HasStarted)
        {
            // An operation that started its answer and then returned an error: same as above, never write into it.
            Log.ResponseAborted(logger, context.Request.Method, context.Request.Path.Value ?? "/", context.Response.StatusCode, null);
            context.Abort();
            return;
        }

        if (error is not null)
        {
            context.Response.ContentLength = null;
            // Refused before the body was read, a client waiting for 100-continue (boto3's PutObject) sends no body, and
            // Kestrel would take the next request's first bytes for it: close the connection instead of reusing it.
            if (context.Request.Headers.Expect.ToString().Contains("100-continue", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers.Connection = "close";
            }

            await S3Xml.WriteErrorAsync(context, error, requestId).ConfigureAwait(false);
        }
    }

    private Task<S3Error?> DispatchAsync(HttpContext context, BucketAddress address, string requestId)
    {
        var request = context.Request;
        var query = request.Query;
        var method = request.Method;
        if (address.Bucket is null)
        {
            return HttpMethods.IsGet(method)
                ? Authorized(context, S3Actions.ListAllMyBuckets, S3Actions.AllBuckets, () => ListBucketsAsync(context))
                : Task.FromResult<S3Error?>(S3Error.MethodNotAllowed(method));
        }

        var bucket = address.Bucket;
        var unsupported = S3Wire.UnsupportedSubresources.FirstOrDefault(query.ContainsKey);
        if (unsupported is not null)
        {
            return Task.FromResult<S3Error?>(S3Error.NotImplemented($"the ?{unsupported} sub-resource"));
        }

        if (address.Key is not { } key)
        {
            var bucketArn = S3Actions.BucketArn(bucket);
            return method switch
            {
                _ when HttpMethods.IsPut(method) && query.ContainsKey(S3Wire.QueryPolicy) => Authorized(context, S3Actions.PutBucketPolicy, bucketArn, () => PutPolicyAsync(context, bucket)),
                _ when HttpMethods.IsGet(method) && query.ContainsKey(S3Wire.QueryPolicy) => Authorized(context, S3Actions.GetBucketPolicy, bucketArn, () => GetPolicyAsync(context, bucket)),
                _ when HttpMethods.IsDelete(method) && query.ContainsKey(S3Wire.QueryPolicy) => Authorized(context, S3Actions.DeleteBucketPolicy, bucketArn, () => DeletePolicyAsync(context, bucket)),
                _ when HttpMethods.IsPut(method) && query.ContainsKey(S3Wire.QueryNotification) => Authorized(context, S3Actions.PutBucketNotification, bucketArn, () => PutNotificationAsync(context, bucket)),
                _ when HttpMethods.IsPut(method) => Authorized(context, S3Actions.CreateBucket, bucketArn, () => CreateBucketAsync(context, bucket)),
                _ when HttpMethods.IsHead(method) => Authorized(context, S3Actions.ListBucket, bucketArn, () => HeadBucketAsync(context, bucket)),
                _ when HttpMethods.IsDelete(method) => Authorized(context, S3Actions.DeleteBucket, bucketArn, () => DeleteBucketAsync(context, bucket)),
                _ when HttpMethods.IsGet(method) && query.ContainsKey(S3Wire.QueryNotification) => Authorized(context, S3Actions.GetBucketNotification, bucketArn, () => GetNotificationAsync(context, bucket)),
                _ when HttpMethods.IsGet(method) && query.ContainsKey(S3Wire.QueryLocation) => Authorized(context, S3Actions.GetBucketLocation, bucketArn, () => GetLocationAsync(context, bucket)),
                _ when HttpMethods.IsGet(method) && query.ContainsKey(S3Wire.QueryUploads) => Authorized(context, S3Actions.ListBucketMultipartUploads, bucketArn, () => ListUploadsAsync(context, bucket)),
                _ when HttpMethods.IsGet(method) => Authorized(context, S3Actions.ListBucket, bucketArn, () => ListObjectsAsync(context, bucket, query[S3Wire.QueryListType] == "2")),

                // DeleteObjects checks s3:DeleteObject key by key, as S3 does.
                _ when HttpMethods.IsPost(method) && query.ContainsKey(S3Wire.QueryDelete) => DeleteObjectsAsync(context, bucket, requestId),
                _ => Task.FromResult<S3Error?>(S3Error.MethodNotAllowed(method)),
            };
        }

        if (System.Text.Encoding.UTF8.GetByteCount(key) > S3Wire.MaxKeyBytes)
        {
            return Task.FromResult<S3Error?>(S3Error.KeyTooLong());
        }

        var uploadId = query[S3Wire.QueryUploadId].ToString();
        var objectArn = S3Actions.ObjectArn(bucket, key);
        return method switch
        {
            _ when HttpMethods.IsPut(method) && query.ContainsKey(S3Wire.QueryPartNumber) && uploadId.Length > 0 => AuthorizedCopy(context, objectArn, () => UploadPartAsync(context, bucket, key, uploadId)),
            _ when HttpMethods.IsPut(method) && request.Headers.ContainsKey(S3Wire.CopySource) => AuthorizedCopy(context, objectArn, () => CopyObjectAsync(context, bucket, key, requestId)),
            _ when HttpMethods.IsPut(method) => Authorized(context, S3Actions.PutObject, objectArn, () => PutObjectAsync(context, bucket, key, requestId)),
            _ when HttpMethods.IsGet(method) && uploadId.Length > 0 => Authorized(context, S3Actions.ListMultipartUploadParts, objectArn, () => ListPartsAsync(context, bucket, key, uploadId)),
            _ when HttpMethods.IsGet(method) || HttpMethods.IsHead(method) => Authorized(context, S3Actions.GetObject, objectArn, () => GetObjectOrDenyAsync(context, bucket, key)),
            _ when HttpMethods.IsDelete(method) && uploadId.Length > 0 => Authorized(context, S3Actions.AbortMultipartUpload, objectArn, () => AbortUploadAsync(context, bucket, key, uploadId)),
            _ when HttpMethods.IsDelete(method) => Authorized(context, S3Actions.DeleteObject, objectArn, () => DeleteObjectAsync(context, bucket, key, requestId)),
            _ when HttpMethods.IsPost(method) && query.ContainsKey(S3Wire.QueryUploads) => Authorized(context, S3Actions.PutObject, objectArn, () => CreateUploadAsync(context, bucket, key)),
            _ when HttpMethods.IsPost(method) && uploadId.Length > 0 => Authorized(context, S3Actions.PutObject, objectArn, () => CompleteUploadAsync(context, bucket, key, uploadId, requestId)),
            _ => Task.FromResult<S3Error?>(S3Error.MethodNotAllowed(method)),
        };
    }

    /// <summary>Runs <paramref name="operation"/> when the signer may perform <paramref name="action"/> on <paramref name="resourceArn"/>, else answers AccessDenied.</summary>
    private async Task<S3Error?> Authorized(HttpContext context, string action, string resourceArn, Func<Task<S3Error?>> operation) =>
        await DecideAsync(context, action, resourceArn).ConfigureAwait(false) is { Allowed: false } refused
            ? S3Error.AccessDenied(refused.Message)
            : await operation().ConfigureAwait(false);

    /// <summary>
    /// GetObject and HeadObject. As S3 answers: a missing key is 404 NoSuchKey only to a caller who may list the bucket
    /// (<c>s3:ListBucket</c>); anyone else gets 403 AccessDenied, so a caller cannot probe which keys exist.
    /// </summary>
    private async Task<S3Error?> GetObjectOrDenyAsync(HttpContext context, string bucket, string key)
    {
        var error = await GetObjectAsync(context, bucket, key).ConfigureAwait(false);
        return error is { Code: "NoSuchKey" } && !(await DecideAsync(context, S3Actions.ListBucket, S3Actions.BucketArn(bucket)).ConfigureAwait(false)).Allowed
            ? S3Error.AccessDenied("Access Denied")
            : error;
    }

    /// <summary>A write that may copy (PutObject, UploadPart): s3:PutObject on the target, and s3:GetObject on an x-amz-copy-source.</summary>
    private Task<S3Error?> AuthorizedCopy(HttpContext context, string targetArn, Func<Task<S3Error?>> operation)
    {
        var source = context.Request.Headers[S3Wire.CopySource].ToString();
        return source.Length > 0 && S3Actions.CopySourceArn(source) is { } sourceArn
            ? Authorized(context, S3Actions.PutObject, targetArn, () => Authorized(context, S3Actions.GetObject, sourceArn, operation))
            : Authorized(context, S3Actions.PutObject, targetArn, operation);
    }

    private async Task<S3Error?> ListBucketsAsync(HttpContext context)
    {
        var buckets = await store.ListBucketsAsync(context.RequestAborted).ConfigureAwait(false);
        await S3Xml.WriteAsync(context, S3Xml.E("ListAllMyBucketsResult",
            Owner(),
            S3Xml.E("Buckets", buckets.Select(b => S3Xml.E("Bucket",
                S3Xml.E("Name", b.Name),
                S3Xml.E("CreationDate", S3Xml.Time(b.CreatedAt)),
                S3Xml.E("BucketRegion", b.Region)))))).ConfigureAwait(false);
        return null;
    }

    private async Task<S3Error?> CreateBucketAsync(HttpContext context, string bucket)
    {
        if (BucketNames.Problem(bucket) is { } problem)
        {
            return S3Error.InvalidBucketName(bucket, problem);
        }

        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var (body, error) = UploadBody.Open(context.Request, verifiers, 1024 * 1024);
            if (error is not null)
            {
                return error;
            }

            using (body)
            {
                var (document, empty) = await S3Xml.ReadOptionalAsync(body!.Body, context.RequestAborted).ConfigureAwait(false);
                if (!empty && (document is null || document.Name.LocalName != "CreateBucketConfiguration"))
                {
                    return S3Error.MalformedXml();
                }

                if (document is not null && LocationConstraintProblem(document) is { } constraintProblem)
                {
                    return constraintProblem;
                }
            }
        }

        if (!await store.CreateBucketAsync(new BucketRecord(bucket, Region, time.GetUtcNow(), null), context.RequestAborted).ConfigureAwait(false))
        {
            // S3's legacy behaviour: re-creating a bucket you own answers 200 in us-east-1 (AWS also resets its ACLs,
            // which Nimbus does not have), 409 BucketAlreadyOwnedByYou in every other region. Nothing in it changes.
            if (Region != S3Wire.LegacyRegion)
            {
                return S3Error.BucketAlreadyOwnedByYou(bucket);
            }

            context.Response.Headers.Location = "/" + bucket;
            return null;
        }

        _rules.TryRemove(bucket, out _);
        Log.BucketCreated(logger, bucket);
        context.Response.Headers.Location = "/" + bucket;
        return null;
    }

    /// <summary>
    /// S3's rules for CreateBucketConfiguration's LocationConstraint: at most one; a region name ("EU" is eu-west-1);
    /// never "us-east-1" (its buckets have no constraint). A node serves one region: on a us-east-1 node any region is
    /// accepted, as S3's global endpoint does (the bucket is still the node's); elsewhere it must be the node's region.
    /// </summary>
    private S3Error? LocationConstraintProblem(XElement configuration)
    {
        var constraints = configuration.Elements().Where(e => e.Name.LocalName == "LocationConstraint").ToList();
        if (constraints.Count > 1 || constraints.Any(c => c.HasElements))
        {
            return S3Error.MalformedXml();
        }

        if (constraints.Count == 0 || constraints[0].Value.Length == 0)
        {
            return null;
        }

        var constraint = constraints[0].Value;
        if (constraint == S3Wire.LegacyRegion || !(constraint == "EU" || S3Wire.RegionName().IsMatch(constraint)))
        {
            return S3Error.InvalidLocationConstraint(constraint);
        }

        var region = constraint == "EU" ? "eu-west-1" : constraint;
        return Region == S3Wire.LegacyRegion || region == Region ? null : S3Error.IllegalLocationConstraint(constraint, Region);
    }

    private async Task<S3Error?> HeadBucketAsync(HttpContext context, string bucket)
    {
        var record = await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false);
        if (record is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        context.Response.Headers["x-amz-bucket-region"] = record.Region;
        return null;
    }

    private async Task<S3Error?> GetLocationAsync(HttpContext context, string bucket)
    {
        var record = await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false);
        if (record is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        await S3Xml.WriteAsync(context, S3Xml.E("LocationConstraint", record.Region == "us-east-1" ? null : record.Region)).ConfigureAwait(false);
        return null;
    }

    private async Task<S3Error?> DeleteBucketAsync(HttpContext context, string bucket)
    {
        switch (await store.DeleteBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false))
        {
            case BucketDeleteOutcome.NotFound:
                return S3Error.NoSuchBucket(bucket);
            case BucketDeleteOutcome.NotEmpty:
                return S3Error.BucketNotEmpty(bucket);
        }

        _rules.TryRemove(bucket, out _);
        PolicyChanged(bucket);
        Log.BucketDeleted(logger, bucket);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return null;
    }

    private async Task<S3Error?> PutNotificationAsync(HttpContext context, string bucket)
    {
        if (await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false) is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        var (body, openError) = UploadBody.Open(context.Request, verifiers, 1024 * 1024);
        if (openError is not null)
        {
            return openError;
        }

        System.Xml.Linq.XElement? document;
        using (body)
        {
            document = await S3Xml.ReadAsync(body!.Body, context.RequestAborted).ConfigureAwait(false);
        }

        if (document is null)
        {
            return S3Error.MalformedXml();
        }

        var (parsed, error) = BucketNotificationConfiguration.Parse(document);
        if (error is not null)
        {
            return error;
        }

        var rules = parsed!;

        var unreachable = new List<string>();
        var notPermitted = new List<string>();
        foreach (var rule in rules.Where(r => r.Kind == NotificationTargetKind.Lambda))
        {
            var reference = FunctionReference.Parse(rule.TargetArn, null, Region, options.Value.AccountId);
            if (reference.IsError || (await functions.GetAsync(reference.Value!, context.RequestAborted).ConfigureAwait(false)).IsError)
            {
                unreachable.Add(rule.TargetArn);
            }
            else if (!await functionPolicies.AllowsAsync(reference.Value!.Name, reference.Value.Qualifier ?? "", LambdaNotificationTarget.InvokeAction,
                LambdaNotificationTarget.S3Principal, S3Actions.BucketArn(bucket), null, context.RequestAborted).ConfigureAwait(false))
            {
                // As on AWS: S3 validates that the function's resource policy lets s3.amazonaws.com invoke it for this bucket.
                notPermitted.Add(rule.TargetArn);
            }
        }

        if (notPermitted.Count > 0 && unreachable.Count == 0)
        {
            return S3Error.InvalidArgument($"Unable to validate the following destination configurations: {string.Join(", ", notPermitted)} "
                + $"(the function's resource policy does not allow s3.amazonaws.com to call lambda:InvokeFunction; run aws lambda add-permission --principal s3.amazonaws.com --source-arn {S3Actions.BucketArn(bucket)} first).");
        }

        foreach (var rule in rules.Where(r => r.Kind == NotificationTargetKind.Queue && !QueueArnPattern().IsMatch(r.TargetArn)))
        {
            unreachable.Add(rule.TargetArn);
        }

        if (unreachable.Count > 0)
        {
            return S3Error.InvalidArgument($"Unable to validate the following destination configurations: {string.Join(", ", unreachable)} (no such function or not a queue ARN).");
        }

        // As on AWS: a queue's resource policy must let s3.amazonaws.com send for this bucket (a queue without one is
        // accepted, see docs/security.md).
        var refusingQueues = rules.Where(r => r.Kind == NotificationTargetKind.Queue
            && !QueueNotificationTarget.S3MaySend(queues.PolicyOf(r.TargetArn), r.TargetArn, S3Actions.BucketArn(bucket), options.Value)).Select(r => r.TargetArn).ToList();
        if (refusingQueues.Count > 0)
        {
            return S3Error.InvalidArgument($"Unable to validate the following destination configurations: {string.Join(", ", refusingQueues)} "
                + $"(the queue's policy does not allow s3.amazonaws.com to call sqs:SendMessage; add an Allow statement for that service principal with aws:SourceArn = {S3Actions.BucketArn(bucket)}).");
        }

        var xml = rules.Count == 0 ? null : BucketNotificationConfiguration.ToXml(rules).ToString(System.Xml.Linq.SaveOptions.DisableFormatting);
        if (!await store.SetNotificationAsync(bucket, xml, context.RequestAborted).ConfigureAwait(false))
        {
            return S3Error.NoSuchBucket(bucket);
        }

        _rules[bucket] = rules;
        Log.NotificationConfigured(logger, bucket, rules.Count);
        return null;
    }

    private async Task<S3Error?> GetNotificationAsync(HttpContext context, string bucket)
    {
        var record = await store.GetBucketAsync(bucket, context.RequestAborted).ConfigureAwait(false);
        if (record is null)
        {
            return S3Error.NoSuchBucket(bucket);
        }

        await S3Xml.WriteAsync(context, BucketNotificationConfiguration.ToXml(BucketNotificationConfiguration.FromStored(record.NotificationXml))).ConfigureAwait(false);
        return null;
    }

    /// <summary>The bucket's notification rules (cached: this API is their only writer); null when the bucket does not exist.</summary>
    private async Task<IReadOnlyList<NotificationRule>?> RulesAsync(string bucket, CancellationToken cancellationToken)
    {
        if (_rules.TryGetValue(bucket, out var cached))
        {
            return cached;
        }

        var record = await store.GetBucketAsync(bucket, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return null;
        }

        var rules = BucketNotificationConfiguration.FromStored(record.NotificationXml);
        _rules.TryAdd(bucket, rules);
        return rules;
    }

    private ObjectChange Change(HttpContext context, string bucket, string key, string eventName, long? size, string? etag, string requestId) => new(
        bucket, key, eventName, size, etag, requestId, S3Xml.HostId(requestId),
        context.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1",
        "AWS:" + AccessKeyId(context.Request),
        TraceHeaderOf(context.Request));

    /// <summary>
    /// The Root and Sampled of the request's <c>X-Amzn-Trace-Id</c>, stored with its notifications so that the function
    /// they invoke continues the caller's trace, as S3 does; null when the caller sent none.
    /// </summary>
    private string? TraceHeaderOf(HttpRequest request) =>
        request.Headers[Metrics.LambdaTraceHeader.HttpHeader].ToString() is { Length: > 0 } header
            ? Metrics.LambdaTraceHeader.ForEvent(header, time)
            : null;

    private static string AccessKeyId(HttpRequest request)
    {
        var credential = request.Headers.Authorization.ToString() is { Length: > 0 } authorization
            && authorization.IndexOf("Credential=", StringComparison.Ordinal) is var at and >= 0
            ? authorization[(at + "Credential=".Length)..]
            : request.Query["X-Amz-Credential"].ToString();
        var slash = credential.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? credential[..slash] : "anonymous";
    }

    private static System.Xml.Linq.XElement Owner(string element = "Owner") =>
        S3Xml.E(element, S3Xml.E("ID", S3Wire.OwnerId), S3Xml.E("DisplayName", S3Wire.OwnerDisplayName));

    [GeneratedRegex(@"^arn:aws[a-zA-Z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")]
    private static partial Regex QueueArnPattern();
}
