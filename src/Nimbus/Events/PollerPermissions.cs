using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Nimbus.Functions;
using Nimbus.Security;

namespace Nimbus.Events;

/// <summary>
/// What an SQS event source mapping's poller may do: its function's execution role must still allow
/// <c>sqs:ReceiveMessage</c>, <c>sqs:DeleteMessage</c> and <c>sqs:GetQueueAttributes</c> on the queue (checked at
/// CreateEventSourceMapping, and again while the poller runs, since the role's policies may change). A decision is
/// kept <see cref="NimbusOptions.PollerPermissionCache"/> (2 s) so a busy poller does not evaluate policies per batch. Each mapping's last outcome is
/// its <c>LastProcessingResult</c> (<c>OK</c>, or <c>PROBLEM: ...</c> naming the missing permission).
/// </summary>
internal sealed class PollerPermissions(FunctionService functions, ServiceAuthorization authorization, IOptions<NimbusOptions> options, TimeProvider time)
{
    private readonly TimeSpan _cacheFor = options.Value.PollerPermissionCache;

    public const string Ok = "OK";

    private static readonly string[] Actions = ["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"];

    private readonly ConcurrentDictionary<string, (DateTimeOffset At, string? Problem)> _decisions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _results = new(StringComparer.Ordinal);

    /// <summary>Null when the poller may receive; else the problem, as <c>LastProcessingResult</c> says it.</summary>
    public async Task<string?> ProblemAsync(EventSourceMappingRecord mapping, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_decisions.TryGetValue(mapping.Uuid, out var cached) && now - cached.At < _cacheFor)
        {
            return cached.Problem;
        }

        string? problem = null;
        var function = await functions.GetAsync(new FunctionReference(mapping.FunctionName, mapping.Qualifier), cancellationToken).ConfigureAwait(false);
        if (!function.IsError)
        {
            foreach (var action in Actions)
            {
                if (!authorization.CheckRole(function.Value!.Role, "sqs:" + action, mapping.EventSourceArn).Allowed)
                {
                    problem = $"PROBLEM: Lambda is unable to poll the queue: the function execution role does not have permissions to call {action} on SQS";
                    break;
                }
            }
        }

        _decisions[mapping.Uuid] = (now, problem);
        _results[mapping.Uuid] = problem ?? Ok;
        return problem;
    }

    /// <summary>The mapping's last outcome (null before its poller's first check, or once it stopped).</summary>
    public string? LastProcessingResult(string uuid) => _results.TryGetValue(uuid, out var result) ? result : null;

    public void Forget(string uuid)
    {
        _decisions.TryRemove(uuid, out _);
        _results.TryRemove(uuid, out _);
    }
}
