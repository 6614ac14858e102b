using System.Net;

namespace Nimbus.Buckets;

/// <summary>An S3 error as a value: the code and status S3 uses, and a message in S3's wording where it has one.</summary>
internal sealed record S3Error(string Code, int Status, string Message)
{
    public string? BucketName { get; init; }

    public string? Key { get; init; }

    public string? UploadId { get; init; }

    public static S3Error NoSuchBucket(string bucket) =>
        new("NoSuchBucket", 404, "The specified bucket does not exist") { BucketName = bucket };

    public static S3Error NoSuchKey(string key) => new("NoSuchKey", 404, "The specified key does not exist.") { Key = key };

    public static S3Error NoSuchUpload(string uploadId) =>
        new("NoSuchUpload", 404, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.") { UploadId = uploadId };

    public static S3Error BucketAlreadyOwnedByYou(string bucket) =>
        new("BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it.") { BucketName = bucket };

    public static S3Error BucketNotEmpty(string bucket) =>
        new("BucketNotEmpty", 409, "The bucket you tried to delete is not empty") { BucketName = bucket };

    public static S3Error InvalidBucketName(string bucket, string why) =>
        new("InvalidBucketName", 400, $"The specified bucket is not valid: {why}") { BucketName = bucket };

    /// <summary>The signer may not do this: S3's 403 with IAM's explanation when there is one.</summary>
    public static S3Error AccessDenied(string? message) => new("AccessDenied", 403, message ?? "Access Denied");

    public static S3Error InvalidArgument(string message) => new("InvalidArgument", 400, message);

    public static S3Error InvalidRequest(string message) => new("InvalidRequest", 400, message);

    /// <summary>A LocationConstraint S3 refuses everywhere: not a region, or us-east-1 spelled out (its buckets have none).</summary>
    public static S3Error InvalidLocationConstraint(string constraint) =>
        new("InvalidLocationConstraint", 400, $"The specified location-constraint is not valid ({constraint}). Leave it out to create the bucket in us-east-1.");

    /// <summary>A LocationConstraint naming another region than the node's (a region-specific endpoint).</summary>
    public static S3Error IllegalLocationConstraint(string constraint, string region) =>
        new("IllegalLocationConstraintException", 400, $"The {constraint} location constraint is incompatible for the region specific endpoint this request was sent to. This node serves {region}: use LocationConstraint={region}.");

    public static S3Error MalformedXml() =>
        new("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema");

    public static S3Error InvalidRange(long size) =>
        new("InvalidRange", 416, $"The requested range is not satisfiable (the object is {size} bytes).");

    /// <summary>GetObject/HeadObject <c>?partNumber=</c> naming a part the object does not have.</summary>
    public static S3Error InvalidPartNumber(int partNumber, int partsCount) =>
        new("InvalidPartNumber", 416, $"The requested partnumber is not satisfiable: the object has no part {partNumber} ({partsCount} part{(partsCount == 1 ? "" : "s")}).");

    public static S3Error PreconditionFailed(string condition) =>
        new("PreconditionFailed", 412, $"At least one of the pre-conditions you specified did not hold ({condition}).");

    public static S3Error EntityTooLarge(long max) =>
        new("EntityTooLarge", 400, $"Your proposed upload exceeds the maximum allowed size of {max} bytes; use a multipart upload for objects over 5 GB.");

    public static S3Error EntityTooSmall(int partNumber) =>
        new("EntityTooSmall", 400, $"Your proposed upload is smaller than the minimum allowed size: part {partNumber} is under 5 MB and is not the last part.");

    public static S3Error InvalidPart(int partNumber) =>
        new("InvalidPart", 400, $"One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag (part {partNumber}).");

    public static S3Error InvalidPartOrder() =>
        new("InvalidPartOrder", 400, "The list of parts was not in ascending order. The parts list must be specified in order by part number.");

    public static S3Error BadDigest(string what) =>
        new("BadDigest", 400, $"The {what} you specified did not match the calculated checksum.");

    public static S3Error InvalidDigest() => new("InvalidDigest", 400, "The Content-MD5 you specified is not valid.");

    public static S3Error ContentSha256Mismatch() =>
        new("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.");

    public static S3Error IncompleteBody() =>
        new("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.");

    public static S3Error MissingContentLength() =>
        new("MissingContentLength", (int)HttpStatusCode.LengthRequired, "You must provide the Content-Length HTTP header.");

    public static S3Error MetadataTooLarge() =>
        new("MetadataTooLarge", 400, $"Your metadata headers exceed the maximum allowed metadata size of {S3Wire.MaxUserMetadataBytes} bytes.");

    public static S3Error KeyTooLong() => new("KeyTooLongError", 400, $"Your key is too long: keys are at most {S3Wire.MaxKeyBytes} bytes of UTF-8.");

    public static S3Error NotImplemented(string what) =>
        new("NotImplemented", 501, $"A header or query you provided implies functionality that is not implemented: {what}.");

    public static S3Error MethodNotAllowed(string method) =>
        new("MethodNotAllowed", 405, $"The specified method ({method}) is not allowed against this resource.");

    public static S3Error MalformedPolicy(string message) => new("MalformedPolicy", 400, message);

    public static S3Error PolicyTooLarge() =>
        new("MalformedPolicy", 400, $"Policies must be at most {BucketsApi.MaxPolicyBytes / 1024} KB.");

    public static S3Error NoSuchBucketPolicy(string bucket) =>
        new("NoSuchBucketPolicy", 404, "The bucket policy does not exist") { BucketName = bucket };

    public static S3Error SlowDown(string message) => new("SlowDown", 503, message);

    public static S3Error InternalError() =>
        new("InternalError", 500, "We encountered an internal error. Please try again; the server log has the details.");
}
