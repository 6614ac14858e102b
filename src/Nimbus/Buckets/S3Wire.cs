namespace Nimbus.Buckets;

/// <summary>The S3 wire contract (API 2006-03-01, rest-xml) in one place: headers, query names, limits.</summary>
internal static partial class S3Wire
{
    public const string Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";
    public const string XmlContentType = "application/xml";
    public const string DefaultContentType = "binary/octet-stream";
    public const string OwnerId = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";
    public const string OwnerDisplayName = "nimbus";
    public const string StorageClass = "STANDARD";

    /// <summary>The region where S3 keeps its legacy answers (CreateBucket of a bucket you own: 200).</summary>
    public const string LegacyRegion = "us-east-1";

    /// <summary>A region name as S3's LocationConstraint takes it (us-west-2, ap-southeast-1, us-gov-west-1, eu-isoe-west-1...).</summary>
    [System.Text.RegularExpressions.GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    public static partial System.Text.RegularExpressions.Regex RegionName();

    // Limits S3 documents.
    public const long MaxSinglePutBytes = 5L * 1024 * 1024 * 1024;
    public const long MaxPartBytes = 5L * 1024 * 1024 * 1024;
    public const long MinPartBytes = 5L * 1024 * 1024;
    public const int MaxPartNumber = 10_000;
    public const int MaxKeys = 1_000;
    public const int MaxKeyBytes = 1_024;
    public const int MaxUserMetadataBytes = 2 * 1024;
    public const int MaxDeleteObjects = 1_000;

    // Request headers.
    public const string ContentSha256 = "x-amz-content-sha256";
    public const string DecodedContentLength = "x-amz-decoded-content-length";
    public const string Trailer = "x-amz-trailer";
    public const string TrailerSignature = "x-amz-trailer-signature";
    public const string CopySource = "x-amz-copy-source";
    public const string CopySourceRange = "x-amz-copy-source-range";
    public const string MetadataDirective = "x-amz-metadata-directive";
    public const string MetaPrefix = "x-amz-meta-";
    public const string ChecksumPrefix = "x-amz-checksum-";
    public const string ChecksumMode = "x-amz-checksum-mode";
    public const string SdkChecksumAlgorithm = "x-amz-sdk-checksum-algorithm";
    public const string AwsChunkedEncoding = "aws-chunked";

    // Response headers.
    public const string RequestIdHeader = "x-amz-request-id";
    public const string HostIdHeader = "x-amz-id-2";

    // x-amz-content-sha256 values (reference 2.2).
    public const string UnsignedPayload = "UNSIGNED-PAYLOAD";
    public const string StreamingPrefix = "STREAMING-";

    // Sub-resources and parameters in the query string.
    public const string QueryNotification = "notification";
    public const string QueryPolicy = "policy";
    public const string QueryUploads = "uploads";
    public const string QueryUploadId = "uploadId";
    public const string QueryPartNumber = "partNumber";

    /// <summary>On a GetObject/HeadObject with <c>?partNumber=</c> of an object a multipart upload assembled: its part count.</summary>
    public const string PartsCountHeader = "x-amz-mp-parts-count";
    public const string QueryDelete = "delete";
    public const string QueryLocation = "location";
    public const string QueryListType = "list-type";
    public const string QueryPrefix = "prefix";
    public const string QueryDelimiter = "delimiter";
    public const string QueryMaxKeys = "max-keys";
    public const string QueryContinuationToken = "continuation-token";
    public const string QueryStartAfter = "start-after";
    public const string QueryMarker = "marker";
    public const string QueryEncodingType = "encoding-type";
    public const string QueryMaxParts = "max-parts";
    public const string QueryPartNumberMarker = "part-number-marker";
    public const string QueryMaxUploads = "max-uploads";
    public const string QueryKeyMarker = "key-marker";
    public const string QueryUploadIdMarker = "upload-id-marker";

    /// <summary>Bucket sub-resources Nimbus does not implement: answered with NotImplemented, never mistaken for a listing.</summary>
    public static readonly string[] UnsupportedSubresources =
    [
        "acl", "versioning", "tagging", "cors", "lifecycle", "website", "logging", "replication", "encryption",
        "object-lock", "ownershipControls", "publicAccessBlock", "accelerate", "requestPayment", "analytics", "inventory",
        "metrics", "intelligent-tiering", "versions", "policyStatus", "retention", "legal-hold", "torrent", "restore", "select",
        "attributes",
    ];

    /// <summary>Headers a PUT stores and GET/HEAD replay, as S3 does.</summary>
    public static readonly string[] StoredHeaders =
    [
        "Content-Type", "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires",
    ];

    /// <summary>GetObject's response-* query parameters and the header each overrides.</summary>
    public static readonly (string Query, string Header)[] ResponseOverrides =
    [
        ("response-content-type", "Content-Type"),
        ("response-content-language", "Content-Language"),
        ("response-expires", "Expires"),
        ("response-cache-control", "Cache-Control"),
        ("response-content-disposition", "Content-Disposition"),
        ("response-content-encoding", "Content-Encoding"),
    ];
}
