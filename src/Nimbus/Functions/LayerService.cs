using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nimbus.Storage;

namespace Nimbus.Functions;

/// <summary>
/// Lambda layers: PublishLayerVersion, GetLayerVersion, ListLayers, ListLayerVersions, DeleteLayerVersion, and
/// the check of a function's <c>Layers</c> (at most 5 versions, each existing, in this region, one per layer).
/// A layer's zip lives in the code store like a function's; the sandbox unpacks a function's layers in order
/// into /opt.
/// </summary>
internal sealed partial class LayerService(IMetadataStore store, CodeStore code, IOptions<NimbusOptions> options, TimeProvider time, ILogger<LayerService> logger)
{
    private const string LayerNameConstraint =
        "Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+";

    private const string FunctionLayersConstraint =
        "Member must satisfy constraint: [Member must have length less than or equal to 140, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+), Member must not be null]";

    private readonly NimbusOptions _options = options.Value;

    public string LayerArn(string name) => $"arn:aws:lambda:{_options.Region}:{_options.AccountId}:layer:{name}";

    public string LayerVersionArn(string name, int version) => $"{LayerArn(name)}:{version.ToString(CultureInfo.InvariantCulture)}";

    public async Task<LambdaResult<LayerVersionRecord>> PublishAsync(string layerName, PublishLayerVersionRequest request, CancellationToken cancellationToken)
    {
        var name = ParseName(layerName);
        if (name.IsError)
        {
            return name.Error!;
        }

        if (request.Content is null)
        {
            return LambdaError.ValidationFailed("null", "content", "Member must not be null");
        }

        if (request.Description is { Length: > LambdaLimits.MaxDescriptionLength } description)
        {
            return LambdaError.ValidationFailed(description, "description", $"Member must have length less than or equal to {LambdaLimits.MaxDescriptionLength}");
        }

        if (request.CompatibleRuntimes is { Count: > LambdaLimits.MaxCompatibleRuntimes } runtimes)
        {
            return LambdaError.ValidationFailed($"[{string.Join(", ", runtimes)}]", "compatibleRuntimes",
                $"Member must have length less than or equal to {LambdaLimits.MaxCompatibleRuntimes}");
        }

        if (request.CompatibleArchitectures is { } architectures && (architectures.Count > 2 || architectures.Any(a => a is not ("x86_64" or "arm64"))))
        {
            return LambdaError.ValidationFailed($"[{string.Join(", ", architectures)}]", "compatibleArchitectures",
                "Member must have length less than or equal to 2, and each member must satisfy enum value set: [x86_64, arm64]");
        }

        if (request.Content.S3Bucket is not null)
        {
            return LambdaError.InvalidParameter("Layer content from S3 (S3Bucket/S3Key) is not supported by this Nimbus release yet: upload the layer with --zip-file fileb://layer.zip.");
        }

        if (request.Content.ZipFile is not { Length: > 0 } zip)
        {
            return LambdaError.InvalidParameter("Please provide a source for the layer content: set Content.ZipFile (--zip-file fileb://layer.zip).");
        }

        var (info, codeError) = await code.PutAsync(zip, cancellationToken).ConfigureAwait(false);
        if (codeError is not null)
        {
            return codeError;
        }

        var now = time.GetUtcNow();
        var record = await store.PublishLayerVersionAsync(name.Value!, version => new LayerVersionRecord
        {
            LayerName = name.Value!,
            Version = version,
            Description = request.Description ?? "",
            CompatibleRuntimes = request.CompatibleRuntimes is { Count: > 0 } compatible ? compatible : null,
            CompatibleArchitectures = request.CompatibleArchitectures is { Count: > 0 } compatibleArchitectures ? compatibleArchitectures : null,
            LicenseInfo = request.LicenseInfo,
            CodeSha256Hex = info.Sha256Hex,
            CodeSize = info.Size,
            CreatedDate = now,
        }, cancellationToken).ConfigureAwait(false);
        Log.LayerVersionPublished(logger, record.LayerName, record.Version, record.CodeSize);
        return record;
    }

    public async Task<LambdaResult<LayerVersionRecord>> GetAsync(string layerName, string versionNumber, CancellationToken cancellationToken)
    {
        var name = ParseName(layerName);
        if (name.IsError)
        {
            return name.Error!;
        }

        if (!int.TryParse(versionNumber, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return LambdaError.ValidationFailed(versionNumber, "versionNumber", "Member must be a number");
        }

        return await store.GetLayerVersionAsync(name.Value!, version, cancellationToken).ConfigureAwait(false) is { } record ? record : NotFound();
    }

    /// <summary>GetLayerVersionByArn: a layer version ARN of this region and account.</summary>
    public async Task<LambdaResult<LayerVersionRecord>> GetByArnAsync(string arn, CancellationToken cancellationToken)
    {
        var match = LambdaLimits.LayerReferencePattern().Match(arn);
        if (arn.Length > LambdaLimits.MaxLayerNameLength || !match.Success || !match.Groups[1].Success || !match.Groups[5].Success
            || !int.TryParse(match.Groups[5].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return LambdaError.ValidationFailed(arn, "arn", "Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+");
        }

        if (match.Groups[1].Value != _options.Region || match.Groups[2].Value != _options.AccountId)
        {
            return NotFound();
        }

        return await store.GetLayerVersionAsync(match.Groups[3].Value, version, cancellationToken).ConfigureAwait(false) is { } record ? record : NotFound();
    }

    public async Task<LambdaResult<(IReadOnlyList<LayerVersionRecord> Versions, string? NextMarker)>> ListVersionsAsync(
        string layerName, string? runtime, string? architecture, string? marker, int? maxItems, CancellationToken cancellationToken)
    {
        var name = ParseName(layerName);
        if (name.IsError)
        {
            return name.Error!;
        }

        var versions = await store.ListLayerVersionsAsync(name.Value!, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<LayerVersionRecord> matching = [.. versions.Where(v => Matches(v, runtime, architecture))];
        return Paging.Page(matching, v => v.Version.ToString(CultureInfo.InvariantCulture), marker, maxItems, "ListLayerVersions");
    }

    /// <summary>Each layer with its newest version that matches the filters, by layer name.</summary>
    public async Task<LambdaResult<(IReadOnlyList<LayerVersionRecord> Latest, string? NextMarker)>> ListLayersAsync(
        string? runtime, string? architecture, string? marker, int? maxItems, CancellationToken cancellationToken)
    {
        var all = await store.ListAllLayerVersionsAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<LayerVersionRecord> latest =
        [
            .. all.Where(v => Matches(v, runtime, architecture)).GroupBy(v => v.LayerName, StringComparer.Ordinal).Select(g => g.First()),
        ];
        return Paging.Page(latest, v => v.LayerName, marker, maxItems, "ListLayers");
    }

    /// <summary>Deletes a layer version; like AWS, deleting one that does not exist succeeds too.</summary>
    public async Task<LambdaError?> DeleteAsync(string layerName, string versionNumber, CancellationToken cancellationToken)
    {
        var name = ParseName(layerName);
        if (name.IsError)
        {
            return name.Error;
        }

        if (!int.TryParse(versionNumber, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return LambdaError.ValidationFailed(versionNumber, "versionNumber", "Member must be a number");
        }

        if (await store.DeleteLayerVersionAsync(name.Value!, version, cancellationToken).ConfigureAwait(false))
        {
            Log.LayerVersionDeleted(logger, name.Value!, version);
        }

        return null;
    }

    /// <summary>
    /// The layers a function names (layer version ARNs, in order), checked as AWS checks them; null in means "no
    /// change" and comes back null.
    /// </summary>
    public async Task<LambdaResult<IReadOnlyList<FunctionLayer>?>> ResolveForFunctionAsync(List<string>? arns, CancellationToken cancellationToken)
    {
        if (arns is null)
        {
            return new LambdaResult<IReadOnlyList<FunctionLayer>?>(null, null);
        }

        if (arns.Count > LambdaLimits.MaxLayersPerFunction)
        {
            return LambdaError.InvalidParameter($"Cannot reference more than {LambdaLimits.MaxLayersPerFunction} layers.");
        }

        var resolved = new List<FunctionLayer>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var arn in arns)
        {
            var match = LambdaLimits.LayerReferencePattern().Match(arn);
            if (arn.Length > LambdaLimits.MaxLayerNameLength || !match.Success || !match.Groups[1].Success || !match.Groups[5].Success
                || !int.TryParse(match.Groups[5].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                return LambdaError.ValidationFailed($"[{arn}]", "layers", FunctionLayersConstraint);
            }

            if (match.Groups[1].Value != _options.Region)
            {
                return LambdaError.InvalidParameter($"Layers are not in the same region as the function. Layers are expected to be in region {_options.Region}.");
            }

            var name = match.Groups[3].Value;
            var record = match.Groups[2].Value == _options.AccountId
                ? await store.GetLayerVersionAsync(name, version, cancellationToken).ConfigureAwait(false)
                : null;
            if (record is null)
            {
                return LambdaError.InvalidParameter($"Layer version {arn} does not exist.");
            }

            var layerArn = arn[..arn.LastIndexOf(':')];
            if (seen.TryGetValue(layerArn, out var other))
            {
                return LambdaError.InvalidParameter(
                    $"Two different versions of the same layer are not allowed to be referenced in the same function. {other} and {arn} are versions of the same layer.");
            }

            seen[layerArn] = arn;
            resolved.Add(new FunctionLayer { Arn = arn, CodeSha256Hex = record.CodeSha256Hex, CodeSize = record.CodeSize });
        }

        return resolved;
    }

    /// <summary>The path a layer version's content downloads from (presigned by the API, as a function's code is).</summary>
    public static string CodePath(LayerVersionRecord record) => $"/nimbus/code/{record.CodeSha256Hex}.zip";

    public LayerVersionResponse ToResponse(LayerVersionRecord record, string location) => new()
    {
        Content = new LayerVersionContentOutput
        {
            Location = location,
            CodeSha256 = Convert.ToBase64String(Convert.FromHexString(record.CodeSha256Hex)),
            CodeSize = record.CodeSize,
        },
        LayerArn = LayerArn(record.LayerName),
        LayerVersionArn = LayerVersionArn(record.LayerName, record.Version),
        Description = record.Description,
        CreatedDate = FormatDate(record.CreatedDate),
        Version = record.Version,
        CompatibleRuntimes = record.CompatibleRuntimes,
        LicenseInfo = record.LicenseInfo,
        CompatibleArchitectures = record.CompatibleArchitectures,
    };

    public LayerVersionsListItem ToListItem(LayerVersionRecord record) => new()
    {
        LayerVersionArn = LayerVersionArn(record.LayerName, record.Version),
        Version = record.Version,
        Description = record.Description,
        CreatedDate = FormatDate(record.CreatedDate),
        CompatibleRuntimes = record.CompatibleRuntimes,
        LicenseInfo = record.LicenseInfo,
        CompatibleArchitectures = record.CompatibleArchitectures,
    };

    /// <summary>A layer name as given (a name or a layer ARN of this region and account) → the bare name.</summary>
    private LambdaResult<string> ParseName(string raw)
    {
        var match = LambdaLimits.LayerReferencePattern().Match(raw);
        if (raw.Length > LambdaLimits.MaxLayerNameLength || !match.Success || match.Groups[5].Success)
        {
            return LambdaError.ValidationFailed(raw, "layerName", LayerNameConstraint);
        }

        if (match.Groups[1].Success && (match.Groups[1].Value != _options.Region || match.Groups[2].Value != _options.AccountId))
        {
            return NotFound();
        }

        return match.Groups[3].Value;
    }

    private static bool Matches(LayerVersionRecord record, string? runtime, string? architecture) =>
        (string.IsNullOrEmpty(runtime) || record.CompatibleRuntimes?.Contains(runtime) == true)
        && (string.IsNullOrEmpty(architecture) || record.CompatibleArchitectures?.Contains(architecture) == true);

    private static LambdaError NotFound() =>
        new(LambdaError.ResourceNotFound, 404, "The resource you requested does not exist.", CapitalMessageKey: true);

    private static string FormatDate(DateTimeOffset date) =>
        date.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);
}
