namespace Nimbus.Buckets;

/// <summary>
/// The IAM actions of S3's operations, as AWS's service authorization reference names them, and the ARNs they act
/// on: buckets <c>arn:aws:s3:::&lt;bucket&gt;</c>, objects <c>arn:aws:s3:::&lt;bucket&gt;/&lt;key&gt;</c>, the
/// account's bucket list <c>arn:aws:s3:::*</c>. Several operations share one action (HeadObject is s3:GetObject,
/// HeadBucket and ListObjects[V2] are s3:ListBucket, the multipart writes are s3:PutObject; CopyObject and
/// UploadPartCopy need s3:PutObject on the target and s3:GetObject on the source; DeleteObjects checks
/// s3:DeleteObject key by key).
/// </summary>
internal static class S3Actions
{
    public const string ListAllMyBuckets = "s3:ListAllMyBuckets";
    public const string CreateBucket = "s3:CreateBucket";
    public const string DeleteBucket = "s3:DeleteBucket";
    public const string ListBucket = "s3:ListBucket";
    public const string GetBucketLocation = "s3:GetBucketLocation";
    public const string PutBucketNotification = "s3:PutBucketNotification";
    public const string GetBucketNotification = "s3:GetBucketNotification";
    public const string ListBucketMultipartUploads = "s3:ListBucketMultipartUploads";
    public const string PutBucketPolicy = "s3:PutBucketPolicy";
    public const string GetBucketPolicy = "s3:GetBucketPolicy";
    public const string DeleteBucketPolicy = "s3:DeleteBucketPolicy";
    public const string GetObject = "s3:GetObject";
    public const string PutObject = "s3:PutObject";
    public const string DeleteObject = "s3:DeleteObject";
    public const string AbortMultipartUpload = "s3:AbortMultipartUpload";
    public const string ListMultipartUploadParts = "s3:ListMultipartUploadParts";

    /// <summary>What ListBuckets acts on: every bucket of the account.</summary>
    public const string AllBuckets = "arn:aws:s3:::*";

    public static string BucketArn(string bucket) => "arn:aws:s3:::" + bucket;

    public static string ObjectArn(string bucket, string key) => $"arn:aws:s3:::{bucket}/{key}";

    /// <summary>The object an <c>x-amz-copy-source</c> header names (<c>[/]bucket/key[?versionId=...]</c>, URL-encoded), or null when it names none.</summary>
    public static string? CopySourceArn(string header)
    {
        var question = header.IndexOf('?', StringComparison.Ordinal);
        var source = Uri.UnescapeDataString(question >= 0 ? header[..question] : header).TrimStart('/');
        var slash = source.IndexOf('/', StringComparison.Ordinal);
        return slash <= 0 || slash == source.Length - 1 ? null : "arn:aws:s3:::" + source;
    }
}
