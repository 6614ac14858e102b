using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Invocation;
using Nimbus.Sandboxes;
using Nimbus.Storage;

namespace Nimbus.Functions;

/// <summary>
/// The Lambda control plane: validates requests with AWS's rules and wording, persists functions, their code
/// and their reserved concurrency, tells observers (the sandbox manager) when a function changes so stale
/// instances are retired, and keeps the concurrency limiter's reservations in step with the store.
/// </summary>
internal sealed partial class FunctionService(
    IMetadataStore store,
    CodeStore code,
    RuntimeCatalog runtimes,
    LayerService layers,
    IEnumerable<IFunctionLifecycleObserver> observers,
    IConcurrencyLimiter concurrency,
    IProvisionedConcurrency provisioned,
    Events.IEventSourceQueues queues,
    IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<FunctionService> logger,
    Security.ServiceAuthorization authorization)
{
    private readonly NimbusOptions _options = options.Value;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Name, string Version), FunctionRecord> _cache = new();
    private readonly Lock _cacheLock = new();
    private long _cacheGeneration;

    public string FunctionArn(string name, string? qualifier = null) =>
        $"arn:aws:lambda:{_options.Region}:{_options.AccountId}:function:{name}{(qualifier is null ? "" : ":" + qualifier)}";

    public LambdaResult<FunctionReference> ParseReference(string raw, string? qualifier) =>
        FunctionReference.Parse(raw, qualifier, _options.Region, _options.AccountId);

    public async Task<LambdaResult<FunctionRecord>> CreateAsync(CreateFunctionRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.FunctionName))
        {
            return LambdaError.ValidationFailed("null", "functionName", "Member must not be null");
        }

        var name = request.FunctionName;
        if (name.Length > LambdaLimits.MaxFunctionNameLength)
        {
            return LambdaError.ValidationFailed(name, "functionName", $"Member must have length less than or equal to {LambdaLimits.MaxFunctionNameLength}");
        }

        if (!LambdaLimits.FunctionNamePattern().IsMatch(name))
        {
            // A full ARN is accepted as the name on create, as on AWS.
            var reference = ParseReference(name, null);
            if (reference.IsError)
            {
                return reference.Error!;
            }

            name = reference.Value.Name;
        }

        if (request.PackageType is { } packageType && packageType != "Zip")
        {
            return LambdaError.InvalidParameter($"PackageType {packageType} is not supported by Nimbus: package the function as a .zip file and use PackageType Zip.");
        }

        if (string.IsNullOrEmpty(request.Role))
        {
            return LambdaError.ValidationFailed("null", "role", "Member must not be null");
        }

        if (string.IsNullOrEmpty(request.Runtime))
        {
            return LambdaError.InvalidParameter("The Runtime parameter is required for functions with package type Zip. Set --runtime, for example nodejs20.x or python3.12.");
        }

        if (string.IsNullOrEmpty(request.Handler))
        {
            return LambdaError.InvalidParameter("The Handler parameter is required for functions with package type Zip. Set --handler, for example index.handler.");
        }

        var settingsError = await ValidateSettingsAsync(request.Runtime, request.Role, request.Handler, request.Description, request.Timeout,
            request.MemorySize, request.Environment, request.EphemeralStorage, request.Architectures, request.LoggingConfig).ConfigureAwait(false);
        if (settingsError is not null)
        {
            return settingsError;
        }

        var functionLayers = await layers.ResolveForFunctionAsync(request.Layers, cancellationToken).ConfigureAwait(false);
        if (functionLayers.IsError)
        {
            return functionLayers.Error!;
        }

        if (await ValidateDeadLetterAsync(request.DeadLetterConfig, request.Role, cancellationToken).ConfigureAwait(false) is { } deadLetterError)
        {
            return deadLetterError;
        }

        var zip = ZipFrom(request.Code?.ZipFile, request.Code?.S3Bucket, request.Code?.ImageUri);
        if (zip.IsError)
        {
            return zip.Error!;
        }

        if (await store.GetFunctionAsync(name, FunctionRecord.Latest, cancellationToken).ConfigureAwait(false) is not null)
        {
            return LambdaError.FunctionExists(name);
        }

        var (info, codeError) = await code.PutAsync(zip.Value!, cancellationToken).ConfigureAwait(false);
        if (codeError is not null)
        {
            return codeError;
        }

        var record = new FunctionRecord
        {
            Name = name,
            Runtime = request.Runtime,
            Handler = request.Handler,
            Role = request.Role,
            Description = request.Description ?? "",
            Timeout = request.Timeout ?? LambdaLimits.DefaultTimeout,
            MemorySize = request.MemorySize ?? LambdaLimits.DefaultMemorySize,
            EphemeralStorageSize = request.EphemeralStorage?.Size ?? LambdaLimits.MinEphemeralStorage,
            Environment = request.Environment?.Variables,
            Architectures = request.Architectures is { Count: > 0 } architectures ? architectures : ["x86_64"],
            TracingMode = request.TracingConfig?.Mode ?? "PassThrough",
            Tags = request.Tags is { Count: > 0 } tags ? tags : null,
            Layers = functionLayers.Value is { Count: > 0 } resolved ? resolved : null,
            DeadLetterTargetArn = DeadLetterTarget(request.DeadLetterConfig, null),
            CodeSha256Hex = info.Sha256Hex,
            CodeSize = info.Size,
            LastModified = time.GetUtcNow(),
            RevisionId = Guid.NewGuid().ToString(),
        };
        var withLogging = LoggingConfigRules.Apply(record, request.LoggingConfig);
        if (withLogging.IsError)
        {
            return withLogging.Error!;
        }

        record = withLogging.Value!;
        if (!await store.TryCreateFunctionAsync(record, cancellationToken).ConfigureAwait(false))
        {
            return LambdaError.FunctionExists(name);
        }

        Log.FunctionCreated(logger, name, record.Runtime, record.CodeSize);
        return request.Publish == true ? await PublishAfterWriteAsync(record, cancellationToken).ConfigureAwait(false) : record;
    }

    /// <summary>
    /// The version a reference names: <c>$LATEST</c> when unqualified, a published version, or the version an alias
    /// points to (its primary one, not a weighted pick: see <see cref="ResolveInvocationAsync"/>).
    /// </summary>
    public async Task<LambdaResult<FunctionRecord>> GetAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        if (!Qualifiers.IsAlias(reference.Qualifier))
        {
            return await GetVersionAsync(reference.Name, reference.Qualifier ?? FunctionRecord.Latest, cancellationToken).ConfigureAwait(false);
        }

        var alias = await FindAliasAsync(reference.Name, reference.Qualifier!, cancellationToken).ConfigureAwait(false);
        return alias is null
            ? LambdaError.FunctionNotFound(FunctionArn(reference.Name, reference.Qualifier))
            : await GetVersionAsync(reference.Name, alias.FunctionVersion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The version one invocation runs: as <see cref="GetAsync"/>, except that an alias with routing weights picks
    /// its version per call. Served from the caches, so the invoke path reads no SQLite once warm.
    /// </summary>
    public async ValueTask<LambdaResult<FunctionRecord>> ResolveInvocationAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        if (!Qualifiers.IsAlias(reference.Qualifier))
        {
            return await GetVersionAsync(reference.Name, reference.Qualifier ?? FunctionRecord.Latest, cancellationToken).ConfigureAwait(false);
        }

        var alias = await FindAliasAsync(reference.Name, reference.Qualifier!, cancellationToken).ConfigureAwait(false);
        return alias is null
            ? LambdaError.FunctionNotFound(FunctionArn(reference.Name, reference.Qualifier))
            : await GetVersionAsync(reference.Name, AliasRouting.Choose(alias, Random.Shared.NextDouble()), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One stored version. Every invoke asks, so records are cached; on one node every write goes through this
    /// service and drops the function's entries (<see cref="Invalidate"/>). A cluster store will need its own signal.
    /// </summary>
    private async ValueTask<LambdaResult<FunctionRecord>> GetVersionAsync(string name, string version, CancellationToken cancellationToken)
    {
        var key = (name, version);
        if (_cache.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var generation = Volatile.Read(ref _cacheGeneration);
        var record = await store.GetFunctionAsync(name, version, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return LambdaError.FunctionNotFound(FunctionArn(name, version == FunctionRecord.Latest ? null : version));
        }

        CacheIfCurrent(_cache, key, record, generation);
        return record;
    }

    /// <summary>Caches a value read at <paramref name="generation"/> unless a write has happened since.</summary>
    private void CacheIfCurrent<T>(System.Collections.Concurrent.ConcurrentDictionary<(string, string), T> cache, (string, string) key, T value, long generation)
    {
        lock (_cacheLock)
        {
            // A write since our read may have made this value stale: then it is not cached.
            if (_cacheGeneration == generation)
            {
                cache[key] = value;
            }
        }
    }

    public async Task<LambdaResult<(IReadOnlyList<FunctionRecord> Functions, string? NextMarker)>> ListAsync(
        string? marker, int? maxItems, bool allVersions, CancellationToken cancellationToken)
    {
        if (Paging.ValidateMaxItems(maxItems) is { } maxItemsError)
        {
            return maxItemsError;
        }

        string? after = null;
        if (marker is { Length: > 0 })
        {
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(marker));
            }
            catch (FormatException)
            {
                return LambdaError.InvalidParameter("The Marker is not valid: pass the NextMarker of a previous ListFunctions response unchanged.");
            }
        }

        var limit = Math.Min(maxItems ?? LambdaLimits.MaxListItems, LambdaLimits.MaxListItems);
        var page = await store.ListFunctionsAsync(after, limit + 1, cancellationToken).ConfigureAwait(false);
        var items = page.Count <= limit ? page : [.. page.Take(limit)];
        var next = page.Count <= limit ? null : Convert.ToBase64String(Encoding.UTF8.GetBytes(items[^1].Name));
        if (!allVersions)
        {
            return (items, next);
        }

        // FunctionVersion=ALL: every version of the functions on this page (pages still count functions).
        var versions = new List<FunctionRecord>();
        foreach (var function in items)
        {
            versions.AddRange(await store.ListVersionsAsync(function.Name, cancellationToken).ConfigureAwait(false));
        }

        return (versions, next);
    }

    public async Task<LambdaResult<FunctionRecord>> UpdateCodeAsync(FunctionReference reference, UpdateFunctionCodeRequest request, CancellationToken cancellationToken)
    {
        var current = await GetLatestForUpdateAsync(reference, request.RevisionId, cancellationToken).ConfigureAwait(false);
        if (current.IsError)
        {
            return current;
        }

        if (request.Architectures is { } architectures && ValidateArchitectures(architectures) is { } architectureError)
        {
            return architectureError;
        }

        var zip = ZipFrom(request.ZipFile, request.S3Bucket, request.ImageUri);
        if (zip.IsError)
        {
            return zip.Error!;
        }

        var (info, codeError) = await code.PutAsync(zip.Value!, cancellationToken).ConfigureAwait(false);
        if (codeError is not null)
        {
            return codeError;
        }

        var updated = current.Value! with
        {
            CodeSha256Hex = info.Sha256Hex,
            CodeSize = info.Size,
            Architectures = request.Architectures is { Count: > 0 } ? request.Architectures : current.Value!.Architectures,
            LastModified = time.GetUtcNow(),
            RevisionId = Guid.NewGuid().ToString(),
        };

        if (request.DryRun == true)
        {
            return updated;
        }

        var saved = await SaveAsync(updated, current.Value!.RevisionId, cancellationToken).ConfigureAwait(false);
        return saved.IsError || request.Publish != true ? saved : await PublishAfterWriteAsync(saved.Value!, cancellationToken).ConfigureAwait(false);
    }

    public async Task<LambdaResult<FunctionRecord>> UpdateConfigurationAsync(FunctionReference reference, UpdateFunctionConfigurationRequest request, CancellationToken cancellationToken)
    {
        var current = await GetLatestForUpdateAsync(reference, request.RevisionId, cancellationToken).ConfigureAwait(false);
        if (current.IsError)
        {
            return current;
        }

        var error = await ValidateSettingsAsync(request.Runtime, request.Role, request.Handler, request.Description, request.Timeout, request.MemorySize,
            request.Environment, request.EphemeralStorage, architectures: null, request.LoggingConfig).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var functionLayers = await layers.ResolveForFunctionAsync(request.Layers, cancellationToken).ConfigureAwait(false);
        if (functionLayers.IsError)
        {
            return functionLayers.Error!;
        }

        // A new role must be able to send to the dead-letter queue the function keeps, as a new queue must be for the role it keeps.
        var deadLetterToCheck = request.DeadLetterConfig
            ?? (request.Role is not null && current.Value!.DeadLetterTargetArn is { Length: > 0 } kept ? new DeadLetterConfigShape { TargetArn = kept } : null);
        if (await ValidateDeadLetterAsync(deadLetterToCheck, request.Role ?? current.Value!.Role, cancellationToken).ConfigureAwait(false) is { } deadLetterError)
        {
            return deadLetterError;
        }

        var before = current.Value!;
        var updated = before with
        {
            Runtime = request.Runtime ?? before.Runtime,
            Role = request.Role ?? before.Role,
            Handler = request.Handler ?? before.Handler,
            Description = request.Description ?? before.Description,
            Timeout = request.Timeout ?? before.Timeout,
            MemorySize = request.MemorySize ?? before.MemorySize,
            Environment = request.Environment is null ? before.Environment : request.Environment.Variables ?? new Dictionary<string, string>(),
            EphemeralStorageSize = request.EphemeralStorage?.Size ?? before.EphemeralStorageSize,
            TracingMode = request.TracingConfig?.Mode ?? before.TracingMode,
            Layers = functionLayers.Value is null ? before.Layers : functionLayers.Value.Count > 0 ? functionLayers.Value : null,
            DeadLetterTargetArn = DeadLetterTarget(request.DeadLetterConfig, before.DeadLetterTargetArn),
            LastModified = time.GetUtcNow(),
            RevisionId = Guid.NewGuid().ToString(),
        };

        var withLogging = LoggingConfigRules.Apply(updated, request.LoggingConfig);
        return withLogging.IsError
            ? withLogging.Error!
            : await SaveAsync(withLogging.Value!, before.RevisionId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<LambdaError?> DeleteAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        if (reference.Qualifier is { } qualifier)
        {
            return await DeleteVersionAsync(reference.Name, qualifier, cancellationToken).ConfigureAwait(false);
        }

        var provisionedRows = await store.ListProvisionedConcurrencyAsync(reference.Name, cancellationToken).ConfigureAwait(false);
        await _reservationWrites.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Deleting the function deletes its reservation in the same transaction. Not cancellable once begun,
            // so the limiter always learns what the store did.
            if (!await store.DeleteFunctionAsync(reference.Name, CancellationToken.None).ConfigureAwait(false))
            {
                return LambdaError.FunctionNotFound(FunctionArn(reference.Name));
            }

            concurrency.SetReservation(reference.Name, null);
        }
        finally
        {
            _reservationWrites.Release();
        }

        Notify(reference.Name, version: null);
        await ForgetProvisionedConcurrencyAsync(reference.Name, null, provisionedRows).ConfigureAwait(false);
        Log.FunctionDeleted(logger, reference.Name);
        return null;
    }

    public Task<(int FunctionCount, long TotalCodeSize)> GetUsageAsync(CancellationToken cancellationToken) => store.GetUsageAsync(cancellationToken);

    /// <summary>
    /// The FunctionConfiguration AWS returns for a stored version. <c>FunctionArn</c> carries the qualifier the
    /// caller used (an alias, <c>$LATEST</c>), a published version's number, or none for unqualified <c>$LATEST</c>.
    /// Published versions have a <c>State</c> but no <c>LastUpdateStatus</c>, as on AWS.
    /// </summary>
    public FunctionConfiguration ToConfiguration(FunctionRecord record, bool includeStatus = true, string? qualifier = null) => new()
    {
        FunctionName = record.Name,
        FunctionArn = FunctionArn(record.Name, qualifier ?? (record.IsLatest ? null : record.Version)),
        Runtime = record.Runtime,
        Role = record.Role,
        Handler = record.Handler,
        CodeSize = record.CodeSize,
        Description = record.Description,
        Timeout = record.Timeout,
        MemorySize = record.MemorySize,
        LastModified = record.LastModified.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture),
        CodeSha256 = Convert.ToBase64String(Convert.FromHexString(record.CodeSha256Hex)),
        Version = record.Version,
        Environment = record.Environment is { } variables ? new EnvironmentResponse { Variables = new(variables) } : null,
        TracingConfig = new TracingConfigShape { Mode = record.TracingMode },
        RevisionId = record.RevisionId,
        State = includeStatus ? record.State : null,
        LastUpdateStatus = includeStatus && record.IsLatest ? record.LastUpdateStatus : null,
        PackageType = record.PackageType,
        Architectures = record.Architectures,
        EphemeralStorage = new EphemeralStorageShape { Size = record.EphemeralStorageSize },
        SnapStart = new SnapStartResponse(),
        LoggingConfig = new LoggingConfigShape
        {
            LogFormat = record.LogFormat,
            ApplicationLogLevel = record.ApplicationLogLevel,
            SystemLogLevel = record.SystemLogLevel,
            LogGroup = record.EffectiveLogGroup,
        },
        Layers = record.Layers is { Count: > 0 } functionLayers
            ? [.. functionLayers.Select(l => new LayerShape { Arn = l.Arn, CodeSize = l.CodeSize })]
            : null,
        DeadLetterConfig = record.DeadLetterTargetArn is { } deadLetter ? new DeadLetterConfigShape { TargetArn = deadLetter } : null,
    };

    private async Task<LambdaResult<FunctionRecord>> GetLatestForUpdateAsync(FunctionReference reference, string? revisionId, CancellationToken cancellationToken)
    {
        if (reference.Qualifier is { } qualifier && qualifier != FunctionRecord.Latest)
        {
            return LambdaError.InvalidParameter($"Only $LATEST can be updated; {qualifier} is a published version or an alias, and versions are immutable.");
        }

        var current = await GetAsync(reference with { Qualifier = null }, cancellationToken).ConfigureAwait(false);
        if (current.IsError)
        {
            return current;
        }

        if (revisionId is { Length: > 0 } && revisionId != current.Value!.RevisionId)
        {
            return LambdaError.RevisionMismatch();
        }

        return current;
    }

    private async Task<LambdaResult<FunctionRecord>> SaveAsync(FunctionRecord updated, string expectedRevisionId, CancellationToken cancellationToken)
    {
        if (!await store.TryUpdateFunctionAsync(updated, expectedRevisionId, cancellationToken).ConfigureAwait(false))
        {
            return new LambdaError(LambdaError.ResourceConflict, 409,
                $"The operation cannot be performed at this time. An update is in progress for resource: {FunctionArn(updated.Name)}");
        }

        Notify(updated.Name, updated.Version);
        Log.FunctionUpdated(logger, updated.Name, updated.RevisionId);
        return updated;
    }

    /// <summary>Drops every cached version and alias of a function.</summary>
    private void Invalidate(string name)
    {
        lock (_cacheLock)
        {
            _cacheGeneration++;
            foreach (var key in _cache.Keys.Where(k => k.Name == name).ToList())
            {
                _cache.TryRemove(key, out _);
            }

            foreach (var key in _aliases.Keys.Where(k => k.Function == name).ToList())
            {
                _aliases.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Invalidates the caches and tells observers that one version (null: every version) changed or went away.</summary>
    private void Notify(string name, string? version)
    {
        Invalidate(name);
        foreach (var observer in observers)
        {
            observer.OnFunctionChanged(name, version);
        }
    }

    private static LambdaResult<byte[]> ZipFrom(byte[]? zipFile, string? s3Bucket, string? imageUri)
    {
        if (imageUri is not null)
        {
            return LambdaError.InvalidParameter("Container images are not supported by Nimbus: upload a .zip package with --zip-file.");
        }

        if (s3Bucket is not null)
        {
            return LambdaError.InvalidParameter("Code from S3 (S3Bucket/S3Key) is not supported by this Nimbus release yet: upload the package with --zip-file fileb://function.zip.");
        }

        if (zipFile is null || zipFile.Length == 0)
        {
            return LambdaError.InvalidParameter("Please provide a source for function code: set Code.ZipFile (--zip-file fileb://function.zip).");
        }

        return zipFile;
    }

    private async Task<LambdaError?> ValidateSettingsAsync(string? runtime, string? role, string? handler, string? description, int? timeout, int? memorySize,
        EnvironmentInput? environment, EphemeralStorageShape? ephemeralStorage, List<string>? architectures, LoggingConfigShape? logging)
    {
        if (memorySize is { } memory)
        {
            if (memory < LambdaLimits.MinMemorySize)
            {
                return LambdaError.ValidationFailed(Invariant(memory), "memorySize", $"Member must have value greater than or equal to {LambdaLimits.MinMemorySize}");
            }

            if (memory > LambdaLimits.MaxMemorySize)
            {
                return LambdaError.ValidationFailed(Invariant(memory), "memorySize", $"Member must have value less than or equal to {LambdaLimits.MaxMemorySize}");
            }
        }

        if (timeout is { } seconds)
        {
            if (seconds < LambdaLimits.MinTimeout)
            {
                return LambdaError.ValidationFailed(Invariant(seconds), "timeout", $"Member must have value greater than or equal to {LambdaLimits.MinTimeout}");
            }

            if (seconds > LambdaLimits.MaxTimeout)
            {
                return LambdaError.ValidationFailed(Invariant(seconds), "timeout", $"Member must have value less than or equal to {LambdaLimits.MaxTimeout}");
            }
        }

        if (description is { Length: > LambdaLimits.MaxDescriptionLength })
        {
            return LambdaError.ValidationFailed(description, "description", $"Member must have length less than or equal to {LambdaLimits.MaxDescriptionLength}");
        }

        if (handler is not null && (handler.Length > LambdaLimits.MaxHandlerLength || !LambdaLimits.HandlerPattern().IsMatch(handler)))
        {
            return LambdaError.ValidationFailed(handler, "handler", handler.Length > LambdaLimits.MaxHandlerLength
                ? $"Member must have length less than or equal to {LambdaLimits.MaxHandlerLength}"
                : "Member must satisfy regular expression pattern: [^\\s]+");
        }

        if (role is not null && !LambdaLimits.RolePattern().IsMatch(role))
        {
            return LambdaError.ValidationFailed(role, "role", "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+");
        }

        if (ephemeralStorage?.Size is { } size && size is < LambdaLimits.MinEphemeralStorage or > LambdaLimits.MaxEphemeralStorage)
        {
            return LambdaError.ValidationFailed(Invariant(size), "ephemeralStorage.size",
                $"Member must have value between {LambdaLimits.MinEphemeralStorage} and {LambdaLimits.MaxEphemeralStorage}");
        }

        if (architectures is not null && ValidateArchitectures(architectures) is { } architectureError)
        {
            return architectureError;
        }

        if (LoggingConfigRules.Validate(logging) is { } loggingError)
        {
            return loggingError;
        }

        if (environment?.Variables is { } variables && ValidateEnvironment(variables) is { } environmentError)
        {
            return environmentError;
        }

        if (runtime is not null)
        {
            var (_, runtimeError) = await runtimes.ResolveAsync(runtime).ConfigureAwait(false);
            if (runtimeError is not null)
            {
                return runtimeError;
            }
        }

        return null;
    }

    private static LambdaError? ValidateArchitectures(List<string> architectures)
    {
        if (architectures.Count != 1 || architectures[0] is not ("x86_64" or "arm64"))
        {
            return LambdaError.ValidationFailed($"[{string.Join(", ", architectures)}]", "architectures",
                "Member must have length less than or equal to 1, and each member must satisfy enum value set: [x86_64, arm64]");
        }

        return null;
    }

    private static LambdaError? ValidateEnvironment(Dictionary<string, string> variables)
    {
        var reserved = variables.Keys.Where(LambdaLimits.ReservedEnvironmentKeys.Contains).ToList();
        if (reserved.Count > 0)
        {
            return LambdaError.InvalidParameter(
                $"Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {string.Join(", ", reserved)}");
        }

        foreach (var key in variables.Keys)
        {
            if (!LambdaLimits.EnvironmentKeyPattern().IsMatch(key))
            {
                return LambdaError.ValidationFailed(key, "environment.variables", "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+");
            }
        }

        var measured = JsonSerializer.Serialize(variables, FunctionsJsonContext.Default.DictionaryStringString);
        if (Encoding.UTF8.GetByteCount(measured) > LambdaLimits.MaxEnvironmentBytes)
        {
            return LambdaError.InvalidParameter(
                $"Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {measured}");
        }

        return null;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
