using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Nimbus.Functions;

/// <summary>Limits and name rules of the Lambda API, as AWS documents them.</summary>
internal static partial class LambdaLimits
{
    public const int MinMemorySize = 128;
    public const int MaxMemorySize = 10_240;
    public const int DefaultMemorySize = 128;
    public const int MinTimeout = 1;
    public const int MaxTimeout = 900;
    public const int DefaultTimeout = 3;
    public const int MinEphemeralStorage = 512;
    public const int MaxEphemeralStorage = 10_240;
    public const int MaxFunctionNameLength = 64;
    public const int MaxFunctionArnLength = 140;
    public const int MaxHandlerLength = 128;
    public const int MaxDescriptionLength = 256;
    public const int MaxEnvironmentBytes = 4 * 1024;
    public const long MaxZipBytes = 50L * 1024 * 1024;
    public const long MaxUnzippedBytes = 262_144_000;

    /// <summary>A CreateFunction body carries the zip base64-encoded: 50 MiB × 4/3.</summary>
    public const long MaxCreateRequestBytes = 69_905_067;
    public const int MaxSyncPayloadBytes = 6_291_456;
    public const int MaxAsyncPayloadBytes = 1_048_576;

    /// <summary>The Runtime API accepts a response up to 6 MiB + 100 bytes.</summary>
    public const int MaxRuntimeResponseBytes = 6_291_556;
    public const int MaxClientContextBytes = 3_583;

    /// <summary>A streamed response (InvokeWithResponseStream, RESPONSE_STREAM URLs) may carry up to 200 MB.</summary>
    public const long MaxStreamedResponseBytes = 200L * 1024 * 1024;

    /// <summary>The first 6 MB of a streamed response go out at full speed; the rest at most at <see cref="StreamedBytesPerSecondCap"/>.</summary>
    public const long StreamUncappedBytes = 6L * 1024 * 1024;

    /// <summary>Lambda's bandwidth cap for the part of a streamed response past the first 6 MB: 16 Mbps.</summary>
    public const long StreamedBytesPerSecondCap = 2L * 1024 * 1024;
    public const int MaxListItems = 50;
    public const int AccountConcurrency = 1_000;

    /// <summary>
    /// Reservations must leave this many executions unreserved, or the whole account limit when it is lower
    /// (AWS then reports the limit as the minimum, for example [10] or [50]).
    /// </summary>
    public const int MinUnreservedConcurrency = 100;
    public const long AccountTotalCodeSize = 80_530_636_800;
    public static readonly TimeSpan InitTimeout = TimeSpan.FromSeconds(10);

    [GeneratedRegex(@"^(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}$")]
    public static partial Regex RegionPattern();

    [GeneratedRegex(@"^[a-zA-Z0-9-_]+$")]
    public static partial Regex FunctionNamePattern();

    [GeneratedRegex(@"^(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$")]
    public static partial Regex FunctionReferencePattern();

    [GeneratedRegex(@"^(\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+)$")]
    public static partial Regex QualifierPattern();

    [GeneratedRegex(@"^[a-zA-Z0-9-_]+$")]
    public static partial Regex AliasNamePattern();

    public const int MaxLayersPerFunction = 5;
    public const int MaxLayerNameLength = 140;
    public const int MaxCompatibleRuntimes = 15;

    /// <summary>A layer name, or a layer ARN (group 1 region, 2 account, 3 name) with an optional version (group 5).</summary>
    [GeneratedRegex(@"^(?:arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:)?([a-zA-Z0-9-_]+)(:([0-9]+))?$")]
    public static partial Regex LayerReferencePattern();

    [GeneratedRegex(@"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")]
    public static partial Regex RolePattern();

    [GeneratedRegex(@"^[^\s]+$")]
    public static partial Regex HandlerPattern();

    [GeneratedRegex(@"^[a-zA-Z]([a-zA-Z0-9_])+$")]
    public static partial Regex EnvironmentKeyPattern();

    /// <summary>Variables Lambda sets itself; a function may not override them.</summary>
    public static readonly FrozenSet<string> ReservedEnvironmentKeys = new[]
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }.ToFrozenSet(StringComparer.Ordinal);
}
