using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Nimbus.Queues;

/// <summary>
/// AddPermission and RemovePermission: as on SQS, they edit the queue's <c>Policy</c> attribute. AddPermission adds
/// one Allow statement whose <c>Sid</c> is the label, naming the accounts' roots and the actions (<c>SQS:</c>-prefixed)
/// on the queue; RemovePermission removes the statement with that label, and the policy with its last statement.
/// Edits are serialized, so two concurrent calls never lose one another's statement.
/// </summary>
internal sealed partial class SqsApi
{
    /// <summary>The actions AddPermission accepts (SQS's list; <c>*</c> is all of them).</summary>
    private static readonly HashSet<string> PermissionActions = new(StringComparer.Ordinal)
    {
        "*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes", "GetQueueUrl",
        "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags",
    };

    private static readonly SemaphoreSlim PermissionEdits = new(1, 1);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,80}$")]
    private static partial Regex LabelPattern();

    private async Task<QueueResult<JsonObject>> AddPermissionAsync(JsonObject input)
    {
        var queue = QueueUrl(input);
        var label = String(input, "Label") ?? throw new InvalidRequestException(QueueError.Missing("Label"));
        var accounts = StringList(input, "AWSAccountIds");
        var actions = StringList(input, "Actions");
        if (accounts.Count == 0)
        {
            return QueueError.Missing("AWSAccountIds");
        }

        if (actions.Count == 0)
        {
            return QueueError.Missing("Actions");
        }

        if (!LabelPattern().IsMatch(label))
        {
            return QueueError.InvalidParameter($"Value {label} for parameter Label is invalid. Reason: Label must be 1 to 80 characters: letters, digits, hyphens and underscores.");
        }

        if (actions.FirstOrDefault(a => !PermissionActions.Contains(a)) is { } badAction)
        {
            return QueueError.InvalidParameter($"Value SQS:{badAction} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions.");
        }

        if (accounts.FirstOrDefault(a => a.Length != 12 || !a.All(char.IsAsciiDigit)) is { } badAccount)
        {
            return QueueError.InvalidParameter($"Value [{badAccount}] for parameter PrincipalId is invalid. Reason: Unable to verify.");
        }

        await PermissionEdits.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = await CurrentPolicyAsync(queue).ConfigureAwait(false);
            if (current.Error is { } error)
            {
                return error;
            }

            var (policy, statements) = current.Value!;
            if (statements.Any(s => s is JsonObject o && o["Sid"]?.GetValueKind() == JsonValueKind.String && o["Sid"]!.GetValue<string>() == label))
            {
                return QueueError.InvalidParameter($"Value {label} for parameter Label is invalid. Reason: Already exists.");
            }

            var principals = new JsonArray([.. accounts.Select(a => (JsonNode?)$"arn:aws:iam::{a}:root")]);
            statements.Add(new JsonObject
            {
                ["Sid"] = label,
                ["Effect"] = "Allow",
                ["Principal"] = new JsonObject { ["AWS"] = principals.Count == 1 ? principals[0]!.DeepClone() : principals },
                ["Action"] = actions.Count == 1 ? "SQS:" + actions[0] : new JsonArray([.. actions.Select(a => (JsonNode?)("SQS:" + a))]),
                ["Resource"] = queues.ArnOf(queues.ResolveName(queue) ?? queue),
            });
            return await Done(queues.SetAttributesAsync(queue, new Dictionary<string, string> { [SqsWire.Attributes.Policy] = policy.ToJsonString() })).ConfigureAwait(false);
        }
        finally
        {
            PermissionEdits.Release();
        }
    }

    private async Task<QueueResult<JsonObject>> RemovePermissionAsync(JsonObject input)
    {
        var queue = QueueUrl(input);
        var label = String(input, "Label") ?? throw new InvalidRequestException(QueueError.Missing("Label"));
        await PermissionEdits.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = await CurrentPolicyAsync(queue).ConfigureAwait(false);
            if (current.Error is { } error)
            {
                return error;
            }

            var (policy, statements) = current.Value!;
            var index = statements.Select((s, i) => (s, i)).FirstOrDefault(p => p.s is JsonObject o && o["Sid"]?.GetValueKind() == JsonValueKind.String && o["Sid"]!.GetValue<string>() == label, (null, -1)).i;
            if (index < 0)
            {
                return QueueError.InvalidParameter($"Value {label} for parameter Label is invalid. Reason: can't find label.");
            }

            statements.RemoveAt(index);
            var text = statements.Count == 0 ? "" : policy.ToJsonString();
            return await Done(queues.SetAttributesAsync(queue, new Dictionary<string, string> { [SqsWire.Attributes.Policy] = text })).ConfigureAwait(false);
        }
        finally
        {
            PermissionEdits.Release();
        }
    }

    /// <summary>The queue's policy as JSON with its statements as a list (a new policy, SQS's shape, when it has none).</summary>
    private async Task<QueueResult<(JsonObject Policy, JsonArray Statements)>> CurrentPolicyAsync(string queue)
    {
        var attributes = await queues.GetAttributesAsync(queue, [SqsWire.Attributes.Policy]).ConfigureAwait(false);
        if (attributes.Error is { } error)
        {
            return error;
        }

        JsonObject policy;
        if (attributes.Value!.TryGetValue(SqsWire.Attributes.Policy, out var text) && text.Length > 0)
        {
            policy = JsonNode.Parse(text) as JsonObject ?? [];
        }
        else
        {
            policy = new JsonObject
            {
                ["Version"] = "2012-10-17",
                ["Id"] = queues.ArnOf(queues.ResolveName(queue) ?? queue) + "/SQSDefaultPolicy",
            };
        }

        if (policy["Statement"] is JsonArray list)
        {
            return (policy, list);
        }

        var statements = policy["Statement"] is JsonObject one ? new JsonArray(one.DeepClone()) : [];
        policy["Statement"] = statements;
        return (policy, statements);
    }
}
