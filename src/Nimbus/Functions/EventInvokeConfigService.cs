using System.Globalization;
using Microsoft.Extensions.Logging;
using Nimbus.Storage;

namespace Nimbus.Functions;

/// <summary>
/// The event invoke configs (Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s)): per function and qualifier
/// (unqualified means <c>$LATEST</c>), validated with AWS's rules, persisted; the async queue reads them for
/// every event (retry attempts, maximum age, destinations).
/// </summary>
internal sealed partial class EventInvokeConfigService(
    FunctionService functions,
    IEventInvokeConfigStore store,
    Events.IEventSourceQueues queues,
    Microsoft.Extensions.Options.IOptions<NimbusOptions> options,
    TimeProvider time,
    ILogger<EventInvokeConfigService> logger,
    Security.ServiceAuthorization authorization)
{
    /// <summary>What the execution role must allow on a function destination.</summary>
    public const string InvokeAction = "lambda:InvokeFunction";

    public const int MinRetryAttempts = 0;
    public const int MaxRetryAttempts = 2;
    public const int MinEventAgeSeconds = 60;
    public const int MaxEventAgeSeconds = 21_600;
    public const int MaxDestinationLength = 350;

    /// <summary>PutFunctionEventInvokeConfig replaces the whole config; UpdateFunctionEventInvokeConfig (<paramref name="merge"/>) changes only what the request names.</summary>
    public async Task<LambdaResult<FunctionEventInvokeConfig>> PutAsync(FunctionReference reference, PutFunctionEventInvokeConfigRequest request, bool merge, CancellationToken cancellationToken)
    {
        if (Validate(reference, request) is { } invalid)
        {
            return invalid;
        }

        var target = await TargetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (target.IsError)
        {
            return target.Error!;
        }

        foreach (var destination in new[] { request.DestinationConfig?.OnSuccess?.Destination, request.DestinationConfig?.OnFailure?.Destination })
        {
            if (Blank(destination) is { } arn && arn.StartsWith("arn:aws:sqs:", StringComparison.Ordinal)
                && await queues.FindAsync(arn, cancellationToken).ConfigureAwait(false) is null)
            {
                return LambdaError.InvalidParameter($"The destination queue {arn} does not exist. Create it first (aws sqs create-queue).");
            }
        }

        if (await RoleRefusalAsync(reference, request, cancellationToken).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var qualifier = target.Value!;
        var record = new EventInvokeConfigRecord
        {
            MaximumRetryAttempts = request.MaximumRetryAttempts,
            MaximumEventAgeInSeconds = request.MaximumEventAgeInSeconds,
            OnSuccess = Blank(request.DestinationConfig?.OnSuccess?.Destination),
            OnFailure = Blank(request.DestinationConfig?.OnFailure?.Destination),
            LastModifiedMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };

        if (merge)
        {
            var existing = await store.GetAsync(reference.Name, qualifier, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                return NotFound(reference.Name, qualifier);
            }

            record = record with
            {
                MaximumRetryAttempts = request.MaximumRetryAttempts ?? existing.MaximumRetryAttempts,
                MaximumEventAgeInSeconds = request.MaximumEventAgeInSeconds ?? existing.MaximumEventAgeInSeconds,
                OnSuccess = request.DestinationConfig?.OnSuccess is null ? existing.OnSuccess : record.OnSuccess,
                OnFailure = request.DestinationConfig?.OnFailure is null ? existing.OnFailure : record.OnFailure,
            };
        }

        await store.PutAsync(reference.Name, qualifier, record, CancellationToken.None).ConfigureAwait(false);
        Log.EventInvokeConfigSet(logger, reference.Name, qualifier);
        return ToResponse(reference.Name, qualifier, record);
    }

    public async Task<LambdaResult<FunctionEventInvokeConfig>> GetAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var target = await TargetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (target.IsError)
        {
            return target.Error!;
        }

        var record = await store.GetAsync(reference.Name, target.Value!, cancellationToken).ConfigureAwait(false);
        return record is null ? NotFound(reference.Name, target.Value!) : ToResponse(reference.Name, target.Value!, record);
    }

    public async Task<LambdaError?> DeleteAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var target = await TargetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (target.IsError)
        {
            return target.Error;
        }

        if (!await store.DeleteAsync(reference.Name, target.Value!, CancellationToken.None).ConfigureAwait(false))
        {
            return NotFound(reference.Name, target.Value!);
        }

        Log.EventInvokeConfigDeleted(logger, reference.Name, target.Value!);
        return null;
    }

    public async Task<LambdaResult<ListFunctionEventInvokeConfigsResponse>> ListAsync(FunctionReference reference, string? marker, int? maxItems, CancellationToken cancellationToken)
    {
        if (reference.Qualifier is not null)
        {
            return LambdaError.InvalidParameter("ListFunctionEventInvokeConfigs takes the function name without a qualifier.");
        }

        if (maxItems is < 1 or > LambdaLimits.MaxListItems)
        {
            return LambdaError.ValidationFailed(maxItems.Value.ToString(CultureInfo.InvariantCulture), "maxItems", $"Member must have value between 1 and {LambdaLimits.MaxListItems}");
        }

        var function = await functions.GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (function.IsError)
        {
            return function.Error!;
        }

        var all = await store.ListAsync(reference.Name, cancellationToken).ConfigureAwait(false);
        var page = Paging.Page(all, item => item.Qualifier, marker, maxItems, "ListFunctionEventInvokeConfigs");
        if (page.IsError)
        {
            return page.Error!;
        }

        return new ListFunctionEventInvokeConfigsResponse
        {
            FunctionEventInvokeConfigs = [.. page.Value.Items.Select(item => ToResponse(reference.Name, item.Qualifier, item.Record))],
            NextMarker = page.Value.NextMarker,
        };
    }

    /// <summary>AWS's checks, in its order: the number ranges (ValidationException), then the destinations.</summary>
    private LambdaError? Validate(FunctionReference reference, PutFunctionEventInvokeConfigRequest request)
    {
        if (request.MaximumRetryAttempts is { } retries and (< MinRetryAttempts or > MaxRetryAttempts))
        {
            return LambdaError.ValidationFailed(Invariant(retries), "maximumRetryAttempts", retries < MinRetryAttempts
                ? $"Member must have value greater than or equal to {MinRetryAttempts}"
                : $"Member must have value less than or equal to {MaxRetryAttempts}");
        }

        if (request.MaximumEventAgeInSeconds is { } age and (< MinEventAgeSeconds or > MaxEventAgeSeconds))
        {
            return LambdaError.ValidationFailed(Invariant(age), "maximumEventAgeInSeconds", age < MinEventAgeSeconds
                ? $"Member must have value greater than or equal to {MinEventAgeSeconds}"
                : $"Member must have value less than or equal to {MaxEventAgeSeconds}");
        }

        foreach (var (member, destination) in new[]
        {
            ("destinationConfig.onSuccess.destination", request.DestinationConfig?.OnSuccess?.Destination),
            ("destinationConfig.onFailure.destination", request.DestinationConfig?.OnFailure?.Destination),
        })
        {
            if (Blank(destination) is not { } arn)
            {
                continue;
            }

            if (arn.Length > MaxDestinationLength)
            {
                return LambdaError.ValidationFailed(arn, member, $"Member must have length less than or equal to {MaxDestinationLength}");
            }

            if (DestinationError(reference, arn) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    private LambdaError? DestinationError(FunctionReference reference, string arn)
    {
        var parts = arn.Split(':');
        var service = parts is ["arn", _, var s, ..] && parts.Length >= 6 ? s : null;
        switch (service)
        {
            case "lambda" when parts[5] == "function":
                var target = functions.ParseReference(arn, null);
                if (target.IsError)
                {
                    return LambdaError.InvalidParameter($"The destination ARN {arn} is not a function of this region and account: {target.Error!.Message}");
                }

                return target.Value.Name == reference.Name
                    ? LambdaError.InvalidParameter("You can't specify the function as a destination for itself.")
                    : null;
            case "sqs":
                return parts[3] == options.Value.Region && parts[4] == options.Value.AccountId && parts[5].Length > 0
                    ? null
                    : LambdaError.InvalidParameter($"The destination ARN {arn} is not a queue of this region and account.");
            case "sns" or "events" or "s3":
                return LambdaError.InvalidParameter(
                    $"Nimbus does not deliver asynchronous invocation records to {service} destinations yet; use a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>) or an SQS queue ARN as the destination.");
            default:
                return LambdaError.InvalidParameter($"The destination ARN {arn} is invalid: use a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>) or an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>).");
        }
    }

    /// <summary>
    /// As on AWS, the function's execution role must allow what Lambda does with it on each destination the request
    /// names: <c>sqs:SendMessage</c> on a queue (and the queue's policy must not deny it), <c>lambda:InvokeFunction</c>
    /// on a function.
    /// </summary>
    private async Task<LambdaError?> RoleRefusalAsync(FunctionReference reference, PutFunctionEventInvokeConfigRequest request, CancellationToken cancellationToken)
    {
        var function = await functions.GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (function.Value?.Role is not { Length: > 0 } role)
        {
            return null;
        }

        foreach (var destination in new[] { request.DestinationConfig?.OnSuccess?.Destination, request.DestinationConfig?.OnFailure?.Destination })
        {
            if (Blank(destination) is not { } arn)
            {
                continue;
            }

            var isQueue = arn.StartsWith("arn:aws:sqs:", StringComparison.Ordinal);
            var refusal = isQueue
                ? Queues.QueueSendPermission.Refusal(authorization, queues.PolicyOf(arn), role, arn, options.Value, time.GetUtcNow())
                : authorization.CheckRole(role, InvokeAction, arn).Allowed ? null : $"the role {role} is not allowed {InvokeAction} on {arn}";
            if (refusal is not null)
            {
                Log.DestinationNotPermitted(logger, reference.Name, arn, refusal);
                return LambdaError.InvalidParameter($"The function execution role does not have permissions to call {(isQueue ? "SendMessage" : "InvokeFunction")} on {arn}");
            }
        }

        return null;
    }

    /// <summary>The qualifier a config is stored under, once the function (version, alias) is known to exist.</summary>
    private async Task<LambdaResult<string>> TargetAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var function = await functions.GetAsync(reference, cancellationToken).ConfigureAwait(false);
        return function.IsError ? function.Error! : reference.Qualifier ?? FunctionRecord.Latest;
    }

    private LambdaError NotFound(string name, string qualifier) =>
        new(LambdaError.ResourceNotFound, 404, $"The function {functions.FunctionArn(name, qualifier)} doesn't have an EventInvokeConfig", CapitalMessageKey: true);

    private FunctionEventInvokeConfig ToResponse(string name, string qualifier, EventInvokeConfigRecord record) => new()
    {
        LastModified = record.LastModifiedMs / 1000.0,
        FunctionArn = functions.FunctionArn(name, qualifier),
        MaximumRetryAttempts = record.MaximumRetryAttempts,
        MaximumEventAgeInSeconds = record.MaximumEventAgeInSeconds,
        DestinationConfig = new DestinationConfig
        {
            OnSuccess = new OnDestination { Destination = record.OnSuccess },
            OnFailure = new OnDestination { Destination = record.OnFailure },
        },
    };

    private static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
