namespace Nimbus.Security;

/// <summary>Why a request was refused at the front door. Each kind maps to one AWS error per protocol (<see cref="AwsAuthErrors"/>).</summary>
internal enum AuthFailureKind
{
    /// <summary>No Authorization header and no presigned query.</summary>
    Missing,

    /// <summary>An Authorization header or presigned query that is not a complete SigV4 signature.</summary>
    Malformed,

    /// <summary>The access key id is not known.</summary>
    UnknownAccessKey,

    /// <summary>The signature does not match the one computed with the key's secret.</summary>
    SignatureMismatch,

    /// <summary>The request time is more than 15 minutes from the server's clock.</summary>
    Skewed,

    /// <summary>A presigned URL used after its X-Amz-Expires.</summary>
    PresignExpired,

    /// <summary>Temporary credentials past their expiry.</summary>
    ExpiredToken,

    /// <summary>A session token that is not one this server issued, or that belongs to another key.</summary>
    InvalidToken,

    /// <summary>Authenticated, but no policy allows the action (or one denies it).</summary>
    AccessDenied,

    /// <summary>S3: the body does not hash to the signed x-amz-content-sha256.</summary>
    PayloadHashMismatch,

    /// <summary>S3: a request the protocol requires more of (for example a missing x-amz-content-sha256).</summary>
    InvalidRequest,

    /// <summary>The body is larger than any operation of the service accepts.</summary>
    TooLarge,

    /// <summary>The access key sent more requests than its rate limit allows.</summary>
    Throttled,

    /// <summary>The request's headers are larger (or more) than any service accepts (<see cref="RequestHeaderLimits"/>).</summary>
    HeadersTooLarge,
}

/// <summary>A refusal: the kind and the message the client sees.</summary>
internal sealed record AuthFailure(AuthFailureKind Kind, string Message)
{
    public static AuthFailure Missing() => new(AuthFailureKind.Missing, "Missing Authentication Token");

    public static AuthFailure Malformed(string detail) => new(AuthFailureKind.Malformed, detail);

    public static AuthFailure UnknownAccessKey() =>
        new(AuthFailureKind.UnknownAccessKey, "The security token included in the request is invalid.");

    public static AuthFailure SignatureMismatch() => new(AuthFailureKind.SignatureMismatch,
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");

    public static AuthFailure Skewed(string amzDate, DateTimeOffset now) => new(AuthFailureKind.Skewed,
        $"Signature expired: {amzDate} is now earlier than {SigV4.FormatAmzDate(now - SigV4.MaxClockSkew)} ({SigV4.FormatAmzDate(now)} - 15 min.)");

    public static AuthFailure SkewedFuture(string amzDate, DateTimeOffset now) => new(AuthFailureKind.Skewed,
        $"Signature not yet current: {amzDate} is still later than {SigV4.FormatAmzDate(now + SigV4.MaxClockSkew)} ({SigV4.FormatAmzDate(now)} + 15 min.)");

    public static AuthFailure PresignExpired(DateTimeOffset expired, DateTimeOffset now) => new(AuthFailureKind.PresignExpired,
        $"Request has expired: it expired at {SigV4.FormatAmzDate(expired)}, the server time is {SigV4.FormatAmzDate(now)}.");

    public static AuthFailure ExpiredToken() => new(AuthFailureKind.ExpiredToken, "The security token included in the request is expired");

    public static AuthFailure InvalidToken() => new(AuthFailureKind.InvalidToken, "The security token included in the request is invalid.");

    public static AuthFailure PayloadHashMismatch() =>
        new(AuthFailureKind.PayloadHashMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.");
}
