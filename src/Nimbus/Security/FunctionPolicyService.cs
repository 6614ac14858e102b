using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Nimbus.Functions;
using Nimbus.Storage;

namespace Nimbus.Security;

/// <summary>AddPermission's request (AWS's member names).</summary>
internal sealed record AddPermissionRequest
{
    public string? StatementId { get; init; }

    public string? Action { get; init; }

    public string? Principal { get; init; }

    public string? SourceArn { get; init; }

    public string? SourceAccount { get; init; }

    public string? EventSourceToken { get; init; }

    public string? RevisionId { get; init; }

    public string? PrincipalOrgID { get; init; }

    public string? FunctionUrlAuthType { get; init; }
}

/// <summary>
/// Resource-based policies of functions: AddPermission, RemovePermission, GetPolicy with AWS's statement shape and
/// errors, and the check that enforces them (who may invoke a function or its URL, which service from which source).
/// Statements are kept per function and qualifier (an alias or version has its own policy, as on AWS).
/// </summary>
internal sealed partial class FunctionPolicyService(FunctionPolicyStore store, IServiceProvider services, Microsoft.Extensions.Options.IOptions<NimbusOptions> options)
    : IFunctionLifecycleObserver
{
    // Resolved on first use: FunctionService takes the lifecycle observers, this service among them.
    private FunctionService? _functions;

    private readonly ConcurrentDictionary<(string Function, string Qualifier), IReadOnlyList<PolicyStatement>> _cache = new();

    private FunctionService Functions => _functions ??= (FunctionService)services.GetService(typeof(FunctionService))!;

    [GeneratedRegex("^[a-zA-Z0-9-_]{1,100}$")]
    private static partial Regex StatementIdPattern();

    [GeneratedRegex("^(lambda:[*]|lambda:[a-zA-Z]+|[*])$")]
    private static partial Regex ActionPattern();

    [GeneratedRegex(@"^[^\s]+$")]
    private static partial Regex PrincipalPattern();

    public async Task<LambdaResult<string>> AddPermissionAsync(FunctionReference reference, AddPermissionRequest request, CancellationToken cancellationToken)
    {
        var exists = await Functions.GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (exists.IsError)
        {
            return exists.Error!;
        }

        if (request.StatementId is not { } sid || !StatementIdPattern().IsMatch(sid))
        {
            return LambdaError.ValidationFailed(request.StatementId ?? "null", "statementId", "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)");
        }

        if (request.Action is not { } action || !ActionPattern().IsMatch(action))
        {
            return LambdaError.ValidationFailed(request.Action ?? "null", "action", "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])");
        }

        if (request.Principal is not { } principal || !PrincipalPattern().IsMatch(principal))
        {
            return LambdaError.ValidationFailed(request.Principal ?? "null", "principal", "Member must satisfy regular expression pattern: [^\\s]+");
        }

        if (request.FunctionUrlAuthType is { } authType && authType is not (FunctionUrlValues.AuthNone or FunctionUrlValues.AuthIam))
        {
            return LambdaError.ValidationFailed(authType, "functionUrlAuthType", "Member must satisfy enum value set: [NONE, AWS_IAM]");
        }

        var qualifier = reference.Qualifier ?? "";
        var statement = Statement(sid, action, principal, FunctionArn(reference), request);
        var json = statement.ToJsonString();
        var outcome = await store.AddAsync(reference.Name, qualifier, sid, json, request.RevisionId, Guid.NewGuid().ToString(), cancellationToken).ConfigureAwait(false);
        _cache.TryRemove((reference.Name, qualifier), out _);
        return outcome switch
        {
            FunctionPolicyWrite.Done => json,
            FunctionPolicyWrite.DuplicateStatementId => new LambdaError(LambdaError.ResourceConflict, 409,
                "The statement id (sid) provided already exists. Please provide a new statement id, or remove the existing statement."),
            _ => LambdaError.RevisionMismatch(),
        };
    }

    public async Task<LambdaError?> RemovePermissionAsync(FunctionReference reference, string statementId, string? revisionId, CancellationToken cancellationToken)
    {
        var exists = await Functions.GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (exists.IsError)
        {
            return exists.Error;
        }

        var qualifier = reference.Qualifier ?? "";
        var outcome = await store.RemoveAsync(reference.Name, qualifier, statementId, revisionId, Guid.NewGuid().ToString(), cancellationToken).ConfigureAwait(false);
        _cache.TryRemove((reference.Name, qualifier), out _);
        return outcome switch
        {
            FunctionPolicyWrite.Done => null,
            FunctionPolicyWrite.StatementNotFound => new LambdaError(LambdaError.ResourceNotFound, 404, $"Statement {statementId} is not found in resource policy.", CapitalMessageKey: true),
            _ => LambdaError.RevisionMismatch(),
        };
    }

    /// <summary>GetPolicy: the policy document as a JSON string and its revision.</summary>
    public async Task<LambdaResult<(string Policy, string RevisionId)>> GetPolicyAsync(FunctionReference reference, CancellationToken cancellationToken)
    {
        var exists = await Functions.GetAsync(reference, cancellationToken).ConfigureAwait(false);
        if (exists.IsError)
        {
            return exists.Error!;
        }

        var stored = await store.GetAsync(reference.Name, reference.Qualifier ?? "", cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            return new LambdaError(LambdaError.ResourceNotFound, 404, "The resource you requested does not exist.", CapitalMessageKey: true);
        }

        var document = new JsonObject
        {
            ["Version"] = "2012-10-17",
            ["Id"] = "default",
            ["Statement"] = new JsonArray(stored.Statements.Select(s => (JsonNode?)JsonNode.Parse(s)).ToArray()),
        };
        return (document.ToJsonString(), stored.RevisionId);
    }

    /// <summary>
    /// True when the function's resource policy (for <paramref name="qualifier"/>, "" = unqualified) has a statement
    /// allowing <paramref name="action"/> to the caller: an AWS principal (its ARN, its account's root or id, or "*"),
    /// or a service principal such as s3.amazonaws.com, whose conditions hold (<see cref="PolicyCondition"/>): the
    /// source ARN and account a service acts for (aws:SourceArn, aws:SourceAccount), the URL's auth type, the
    /// request's keys in <paramref name="request"/>. A condition on a key Nimbus does not supply (aws:PrincipalOrgID,
    /// lambda:EventSourceToken) does not hold, so such a statement allows nothing here.
    /// </summary>
    public async Task<bool> AllowsAsync(string functionName, string qualifier, string action, string principalArn, string? sourceArn, string? functionUrlAuthType, CancellationToken cancellationToken, Principal? caller = null, AuthorizationContext? request = null)
    {
        var account = options.Value.AccountId;
        var accountRoot = $"arn:aws:iam::{account}:root";
        var isService = !principalArn.StartsWith("arn:", StringComparison.Ordinal);
        var context = new AuthorizationContext
        {
            SourceIp = request?.SourceIp,
            SecureTransport = request?.SecureTransport,
            CurrentTime = request?.CurrentTime ?? DateTimeOffset.UtcNow,
            RequestedRegion = request?.RequestedRegion,
            AccountId = account,
            SourceArn = sourceArn,

            // A service acting for a resource of this account (a bucket's notification) acts for this account.
            SourceAccount = isService ? account : null,
            FunctionUrlAuthType = functionUrlAuthType,
        };
        var principal = caller ?? new Principal(PrincipalKind.User, principalArn, principalArn, "");
        foreach (var statement in await StatementsAsync(functionName, qualifier, cancellationToken).ConfigureAwait(false))
        {
            if (statement.Effect != PolicyEffect.Allow || !statement.Actions.Any(a => Wildcard.Matches(a, action, ignoreCase: true)))
            {
                continue;
            }

            var principalMatches = isService
                ? statement.ServicePrincipals.Contains(principalArn, StringComparer.Ordinal) || statement.AwsPrincipals.Contains("*", StringComparer.Ordinal)
                : statement.AwsPrincipals.Any(p => p is "*" || p == principalArn || p == accountRoot || p == account);
            if (principalMatches && statement.ConditionsHold(principal, context))
            {
                return true;
            }
        }

        return false;
    }

    public void OnFunctionChanged(string functionName, string? version)
    {
        if (version is not null)
        {
            return;
        }

        foreach (var key in _cache.Keys.Where(k => k.Function == functionName).ToList())
        {
            _cache.TryRemove(key, out _);
        }

        // The function is gone: so is its policy (a new function of the same name starts without one).
        store.DeleteFunctionAsync(functionName, CancellationToken.None).GetAwaiter().GetResult();
    }

    private async Task<IReadOnlyList<PolicyStatement>> StatementsAsync(string functionName, string qualifier, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue((functionName, qualifier), out var cached))
        {
            return cached;
        }

        var stored = await store.GetAsync(functionName, qualifier, cancellationToken).ConfigureAwait(false);

        // A statement that does not parse (written by an older build with a shape this one refuses) allows nothing. The
        // policy GetPolicy returns says Version 2012-10-17, so its statements are evaluated in that language, variables too.
        IReadOnlyList<PolicyStatement> statements = stored?.Statements
            .Select(s => PolicyDocument.TryParse($$"""{"Version":"{{PolicyDocument.CurrentVersion}}","Statement":[{{s}}]}""", resourcePolicy: true, out _)?.Statements[0])
            .OfType<PolicyStatement>()
            .ToList() ?? [];
        _cache[(functionName, qualifier)] = statements;
        return statements;
    }

    private string FunctionArn(FunctionReference reference)
    {
        var arn = $"arn:aws:lambda:{options.Value.Region}:{options.Value.AccountId}:function:{reference.Name}";
        return reference.Qualifier is { Length: > 0 } q ? arn + ":" + q : arn;
    }

    /// <summary>AWS's statement for an AddPermission call.</summary>
    private static JsonObject Statement(string sid, string action, string principal, string resource, AddPermissionRequest request)
    {
        JsonNode principalNode = principal switch
        {
            "*" => "*",
            _ when principal.EndsWith(".amazonaws.com", StringComparison.Ordinal) || principal.EndsWith(".amazonaws.com.cn", StringComparison.Ordinal) => new JsonObject { ["Service"] = principal },
            _ when principal.Length == 12 && principal.All(char.IsAsciiDigit) => new JsonObject { ["AWS"] = $"arn:aws:iam::{principal}:root" },
            _ => new JsonObject { ["AWS"] = principal },
        };
        var statement = new JsonObject
        {
            ["Sid"] = sid,
            ["Effect"] = "Allow",
            ["Principal"] = principalNode,
            ["Action"] = action,
            ["Resource"] = resource,
        };
        var conditions = new JsonObject();
        var stringEquals = new JsonObject();
        if (request.SourceAccount is { } account)
        {
            stringEquals["AWS:SourceAccount"] = account;
        }

        if (request.FunctionUrlAuthType is { } authType)
        {
            stringEquals["lambda:FunctionUrlAuthType"] = authType;
        }

        if (request.PrincipalOrgID is { } org)
        {
            stringEquals["aws:PrincipalOrgID"] = org;
        }

        if (request.EventSourceToken is { } token)
        {
            stringEquals["lambda:EventSourceToken"] = token;
        }

        if (stringEquals.Count > 0)
        {
            conditions["StringEquals"] = stringEquals;
        }

        if (request.SourceArn is { } sourceArn)
        {
            conditions["ArnLike"] = new JsonObject { ["AWS:SourceArn"] = sourceArn };
        }

        if (conditions.Count > 0)
        {
            statement["Condition"] = conditions;
        }

        return statement;
    }
}
