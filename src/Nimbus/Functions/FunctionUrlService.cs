using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Nimbus.Storage;

namespace Nimbus.Functions;

/// <summary>
/// Function URLs (Create/Get/Update/Delete/ListFunctionUrlConfig(s)): one per function on <c>$LATEST</c> or an
/// alias, validated with AWS's rules and wording, persisted in the metadata store. The url-id is derived from the
/// account, region, function and qualifier, so a URL deleted and created again has the same address.
/// </summary>
internal sealed class FunctionUrlService(
    IMetadataStore store,
    FunctionService functions,
    FunctionUrlCache cache,
    IOptions<NimbusOptions> options,
    TimeProvider time)
{
    public const int UrlIdLength = 32;
    public const int MaxListItems = 50;
    public const int MaxCorsMaxAge = 86400;
    private const string UrlIdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    private const string QualifierPattern = "(^\\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))";

    private readonly NimbusOptions _options = options.Value;

    public string Region => _options.Region;

    public string AccountId => _options.AccountId;

    /// <summary>The host name of a URL: <c>&lt;url-id&gt;.lambda-url.&lt;region&gt;.localhost</c>.</summary>
    public string DomainName(string urlId) => $"{urlId}.lambda-url.{_options.Region}.localhost";

    public string FunctionUrl(FunctionUrlRecord record, int port) => $"http://{DomainName(record.UrlId)}:{port.ToString(CultureInfo.InvariantCulture)}/";

    public string UrlId(string functionName, string qualifier)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{_options.AccountId}:{_options.Region}:{functionName}:{qualifier}"));
        var id = new char[UrlIdLength];
        for (var i = 0; i < id.Length; i++)
        {
            id[i] = UrlIdAlphabet[hash[i] % UrlIdAlphabet.Length];
        }

        return new string(id);
    }

    public async Task<LambdaResult<FunctionUrlRecord>> CreateAsync(FunctionReference reference, FunctionUrlConfigRequest request, CancellationToken cancellationToken)
    {
        if (Validate(request, creating: true) is { } invalid)
        {
            return invalid;
        }

        var target = await TargetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (target.IsError)
        {
            return target.Error!;
        }

        var qualifier = target.Value!;
        var now = Now();
        var record = new FunctionUrlRecord(reference.Name, qualifier, UrlId(reference.Name, qualifier), request.AuthType!,
            request.InvokeMode ?? FunctionUrlValues.Buffered, request.Cors, now, now);
        if (!await store.TryCreateFunctionUrlAsync(record, CancellationToken.None).ConfigureAwait(false))
        {
            return new LambdaError(LambdaError.ResourceConflict, 409,
                $"Failed to create function url config for [functionArn = {Arn(record)}]. Error message:  FunctionUrlConfig exists for this Lambda function");
        }

        cache.Remove(record.UrlId);
        return record;
    }

    public async Task<LambdaResult<FunctionUrlRecord>> GetAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var target = await TargetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (target.IsError)
        {
            return target.Error!;
        }

        var record = await store.GetFunctionUrlAsync(reference.Name, target.Value!, cancellationToken).ConfigureAwait(false);
        return record is null ? NotFound() : record;
    }

    public async Task<LambdaResult<FunctionUrlRecord>> UpdateAsync(FunctionReference reference, FunctionUrlConfigRequest request, CancellationToken cancellationToken)
    {
        if (Validate(request, creating: false) is { } invalid)
        {
            return invalid;
        }

        var existing = await GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (existing.IsError)
        {
            return existing.Error!;
        }

        var record = existing.Value! with
        {
            AuthType = request.AuthType ?? existing.Value!.AuthType,
            InvokeMode = request.InvokeMode ?? existing.Value!.InvokeMode,
            Cors = request.Cors ?? existing.Value!.Cors,
            LastModifiedTime = Now(),
        };
        if (!await store.UpdateFunctionUrlAsync(record, CancellationToken.None).ConfigureAwait(false))
        {
            return NotFound();
        }

        cache.Remove(record.UrlId);
        return record;
    }

    public async Task<LambdaError?> DeleteAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var target = await TargetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (target.IsError)
        {
            return target.Error;
        }

        if (!await store.DeleteFunctionUrlAsync(reference.Name, target.Value!, CancellationToken.None).ConfigureAwait(false))
        {
            return NotFound();
        }

        cache.Remove(UrlId(reference.Name, target.Value!));
        return null;
    }

    public async Task<LambdaResult<(IReadOnlyList<FunctionUrlRecord> Items, string? NextMarker)>> ListAsync(
        FunctionReference reference, string? marker, int? maxItems, CancellationToken cancellationToken)
    {
        if (maxItems is < 1 or > MaxListItems)
        {
            return LambdaError.ValidationFailed(maxItems.Value.ToString(CultureInfo.InvariantCulture), "maxItems",
                maxItems < 1 ? "Member must have value greater than or equal to 1" : $"Member must have value less than or equal to {MaxListItems}");
        }

        var function = await functions.GetAsync(reference with { Qualifier = null }, cancellationToken).ConfigureAwait(false);
        if (function.IsError)
        {
            return function.Error!;
        }

        var all = await store.ListFunctionUrlsAsync(reference.Name, cancellationToken).ConfigureAwait(false);
        return Paging.Page(all, r => r.Qualifier, marker, maxItems, "ListFunctionUrlConfigs");
    }

    /// <summary>The URL a front-door request names, or null when there is none.</summary>
    public async ValueTask<FunctionUrlRecord?> FindAsync(string urlId, CancellationToken cancellationToken)
    {
        if (cache.TryGet(urlId, out var cached))
        {
            return cached;
        }

        var generation = cache.Generation;
        var record = await store.FindFunctionUrlAsync(urlId, cancellationToken).ConfigureAwait(false);
        if (record is not null)
        {
            cache.Add(record, generation);
        }

        return record;
    }

    /// <summary>The function or alias behind a URL went away (seen by an invocation): forget it.</summary>
    public void Forget(FunctionUrlRecord record) => cache.Remove(record.UrlId);

    public FunctionUrlConfig ToConfig(FunctionUrlRecord record, int port, bool includeLastModified) => new()
    {
        FunctionUrl = FunctionUrl(record, port),
        FunctionArn = Arn(record),
        AuthType = record.AuthType,
        Cors = record.Cors,
        CreationTime = record.CreationTime,
        LastModifiedTime = includeLastModified ? record.LastModifiedTime : null,
        InvokeMode = record.InvokeMode,
    };

    public static FunctionReference Target(FunctionUrlRecord record) =>
        new(record.FunctionName, record.Qualifier == FunctionRecord.Latest ? null : record.Qualifier);

    private string Arn(FunctionUrlRecord record) =>
        functions.FunctionArn(record.FunctionName, record.Qualifier == FunctionRecord.Latest ? null : record.Qualifier);

    /// <summary>The qualifier a URL hangs off ($LATEST or an existing alias), or AWS's error.</summary>
    private async Task<LambdaResult<string>> TargetAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var qualifier = reference.Qualifier ?? FunctionRecord.Latest;
        if (qualifier != FunctionRecord.Latest && !Qualifiers.IsAlias(qualifier))
        {
            return LambdaError.ValidationFailed(qualifier, "qualifier", $"Member must satisfy regular expression pattern: {QualifierPattern}");
        }

        var function = await functions.GetAsync(reference with { Qualifier = qualifier == FunctionRecord.Latest ? null : qualifier }, cancellationToken).ConfigureAwait(false);
        return function.IsError ? function.Error! : qualifier;
    }

    private static LambdaError? Validate(FunctionUrlConfigRequest request, bool creating)
    {
        if (request.AuthType is null && creating)
        {
            return LambdaError.ValidationFailed("null", "authType", "Member must not be null");
        }

        if (request.AuthType is { } auth && auth is not (FunctionUrlValues.AuthNone or FunctionUrlValues.AuthIam))
        {
            return LambdaError.ValidationFailed(auth, "authType", "Member must satisfy enum value set: [NONE, AWS_IAM]");
        }

        if (request.InvokeMode is { } mode && mode is not (FunctionUrlValues.Buffered or FunctionUrlValues.ResponseStream))
        {
            return LambdaError.ValidationFailed(mode, "invokeMode", "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]");
        }

        if (request.Cors is not { } cors)
        {
            return null;
        }

        if (cors.MaxAge is < 0 or > MaxCorsMaxAge)
        {
            return LambdaError.ValidationFailed(cors.MaxAge.Value.ToString(CultureInfo.InvariantCulture), "cors.maxAge",
                cors.MaxAge < 0 ? "Member must have value greater than or equal to 0" : $"Member must have value less than or equal to {MaxCorsMaxAge}");
        }

        return ValidateList(cors.AllowMethods, "cors.allowMethods", 6, 6)
            ?? ValidateList(cors.AllowOrigins, "cors.allowOrigins", 100, 253)
            ?? ValidateList(cors.AllowHeaders, "cors.allowHeaders", 100, 1024)
            ?? ValidateList(cors.ExposeHeaders, "cors.exposeHeaders", 100, 1024);
    }

    private static LambdaError? ValidateList(List<string>? values, string member, int maxCount, int maxLength)
    {
        if (values is null)
        {
            return null;
        }

        if (values.Count > maxCount)
        {
            return LambdaError.ValidationFailed($"[{string.Join(", ", values)}]", member, $"Member must have length less than or equal to {maxCount}");
        }

        foreach (var value in values)
        {
            if (value.Length is 0 || value.Length > maxLength)
            {
                return LambdaError.ValidationFailed($"[{string.Join(", ", values)}]", member,
                    $"Member must satisfy constraint: [Member must have length less than or equal to {maxLength}, Member must have length greater than or equal to 1]");
            }
        }

        return null;
    }

    private static LambdaError NotFound() =>
        new(LambdaError.ResourceNotFound, 404, "The resource you requested does not exist.", CapitalMessageKey: true);

    private string Now() => time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
