namespace Nimbus.Functions;

/// <summary>
/// One version of a function as stored in the metadata store. Persisted as JSON, so renaming a property or
/// changing a string value silently breaks old data: the golden test in Nimbus.Tests pins the shape.
/// </summary>
internal sealed record FunctionRecord
{
    public const string Latest = "$LATEST";

    public required string Name { get; init; }
    public string Version { get; init; } = Latest;
    public required string Runtime { get; init; }
    public required string Handler { get; init; }
    public required string Role { get; init; }
    public string Description { get; init; } = "";
    public int Timeout { get; init; } = LambdaLimits.DefaultTimeout;
    public int MemorySize { get; init; } = LambdaLimits.DefaultMemorySize;
    public int EphemeralStorageSize { get; init; } = LambdaLimits.MinEphemeralStorage;
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    public IReadOnlyList<string> Architectures { get; init; } = ["x86_64"];
    public string PackageType { get; init; } = "Zip";
    public string TracingMode { get; init; } = "PassThrough";
    public string LogFormat { get; init; } = "Text";
    public string? ApplicationLogLevel { get; init; }
    public string? SystemLogLevel { get; init; }
    public string? LogGroup { get; init; }
    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>Layers in the order they are unpacked into /opt (later ones win); null when there are none.</summary>
    public IReadOnlyList<FunctionLayer>? Layers { get; init; }

    /// <summary>Lower-case hex SHA-256 of the deployment package: the key into the code store.</summary>
    public required string CodeSha256Hex { get; init; }
    public required long CodeSize { get; init; }
    public required DateTimeOffset LastModified { get; init; }
    public required string RevisionId { get; init; }
    public string State { get; init; } = FunctionStates.Active;
    public string LastUpdateStatus { get; init; } = FunctionStates.Successful;

    /// <summary>
    /// On a published version: the <see cref="RevisionId"/> of <c>$LATEST</c> it was published from, so publishing an
    /// unchanged <c>$LATEST</c> again returns this version instead of a new one. Null on <c>$LATEST</c>.
    /// </summary>
    public string? PublishedFromRevisionId { get; init; }

    /// <summary>
    /// On a published version: <c>$LATEST</c>'s <see cref="Description"/> when it was published (the version's own may
    /// be PublishVersion's override), so an unchanged <c>$LATEST</c> is recognised. Null on <c>$LATEST</c> and on
    /// versions published before this field existed.
    /// </summary>
    public string? PublishedFromDescription { get; init; }

    /// <summary><c>DeadLetterConfig.TargetArn</c>: the SQS queue a failed asynchronous event goes to; null when none.</summary>
    public string? DeadLetterTargetArn { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsLatest => Version == Latest;

    [System.Text.Json.Serialization.JsonIgnore]
    public string EffectiveLogGroup => LogGroup ?? $"/aws/lambda/{Name}";
}

/// <summary>Persisted state values; frozen by a golden test.</summary>
internal static class FunctionStates
{
    public const string Pending = "Pending";
    public const string Active = "Active";
    public const string Failed = "Failed";
    public const string Successful = "Successful";
    public const string InProgress = "InProgress";
}
