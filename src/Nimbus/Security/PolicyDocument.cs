using System.Text.Json;

namespace Nimbus.Security;

/// <summary>Allow or Deny.</summary>
internal enum PolicyEffect
{
    Allow,
    Deny,
}

/// <summary>
/// One statement: its effect, the actions and resources it matches (or, with NotAction/NotResource, does not), its
/// conditions (all must hold) and, in a resource policy, its principals.
/// </summary>
internal sealed record PolicyStatement(
    PolicyEffect Effect,
    IReadOnlyList<string> Actions,
    bool NotAction,
    IReadOnlyList<string> Resources,
    bool NotResource)
{
    public IReadOnlyList<PolicyCondition> Conditions { get; init; } = [];

    /// <summary>A resource policy's <c>Principal</c>: <c>*</c>, AWS principals (ARNs or account ids) and service principals, as written.</summary>
    public IReadOnlyList<string> AwsPrincipals { get; init; } = [];

    public IReadOnlyList<string> ServicePrincipals { get; init; } = [];

    private readonly bool _resourcesNameVariables = Resources.Any(PolicyVariables.HasVariables);

    /// <summary>
    /// True when the policy says <c>"Version": "2012-10-17"</c>: only that policy language has policy variables. In an
    /// older policy (no Version, or <c>2008-10-17</c>) <c>${aws:username}</c> is literal text, as in IAM.
    /// </summary>
    public bool ExpandsVariables { get; init; }

    /// <summary>True when a resource names a policy variable (<c>${aws:username}</c>): what it matches depends on the request.</summary>
    public bool HasResourceVariables => ExpandsVariables && _resourcesNameVariables;

    public bool Matches(string action, string resource) => Matches(action, resource, null, null);

    /// <summary>
    /// Whether action and resource match; with <see cref="ExpandsVariables"/>, policy variables in resources are replaced
    /// with the request's values (<see cref="PolicyVariables"/>).
    /// </summary>
    public bool Matches(string action, string resource, Principal? principal, AuthorizationContext? context) =>
        Actions.Any(pattern => Wildcard.Matches(pattern, action, ignoreCase: true)) != NotAction
        && Resources.Any(pattern => ResourceMatches(pattern, resource, principal, context)) != NotResource;

    private bool ResourceMatches(string pattern, string resource, Principal? principal, AuthorizationContext? context)
    {
        if (ExpandsVariables && PolicyVariables.HasVariables(pattern))
        {
            // Without a principal no variable has a value: the pattern matches nothing.
            if (principal is null || PolicyVariables.Substitute(pattern, principal, context) is not { } substituted)
            {
                return false;
            }

            pattern = substituted;
        }

        return Wildcard.Matches(pattern, resource, ignoreCase: false);
    }

    /// <summary>
    /// Whether every condition holds. A condition on a key Nimbus does not supply holds for a Deny and not for an
    /// Allow, so a condition Nimbus cannot evaluate only ever narrows what a policy allows.
    /// </summary>
    public bool ConditionsHold(Principal principal, AuthorizationContext? context)
    {
        foreach (var condition in Conditions)
        {
            if (!condition.Holds(principal, context, unknownKeyResult: Effect == PolicyEffect.Deny, expandVariables: ExpandsVariables))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// An IAM-style policy: <c>Version</c> (<c>2012-10-17</c> has policy variables; without it, or with <c>2008-10-17</c>,
/// they are literal text), <c>Statement</c> (an object or a list) with <c>Effect</c>,
/// <c>Action</c>/<c>NotAction</c>, <c>Resource</c>/<c>NotResource</c> (strings or lists, <c>*</c> and <c>?</c>
/// wildcards) and <c>Condition</c> (<see cref="PolicyCondition"/>). <c>Principal</c> belongs to resource policies
/// (a queue's <c>Policy</c>) and is refused in identity policies; an unknown element or condition operator is refused
/// when the policy is put, so no policy silently means more than it says.
/// </summary>
internal sealed record PolicyDocument(IReadOnlyList<PolicyStatement> Statements)
{
    /// <summary>True when some statement has a condition: its decisions may depend on the request (source IP, time...), not only on (action, resource).</summary>
    public bool HasConditions => Statements.Any(s => s.Conditions.Count > 0);

    /// <summary>The policy language version with policy variables; the only other one IAM knows is 2008-10-17.</summary>
    public const string CurrentVersion = "2012-10-17";

    /// <summary>Largest policy document, as IAM's inline user policy limit (2048 characters without whitespace is IAM's; we allow more).</summary>
    public const int MaxLength = 10_240;

    /// <summary>The language version a policy without <c>Version</c> has, and the only other one IAM, S3 and SQS accept.</summary>
    public const string LegacyVersion = "2008-10-17";

    public static PolicyDocument? TryParse(string json, out string? error) => TryParse(json, resourcePolicy: false, out error);

    /// <summary>
    /// Parses a policy being put (<see cref="TryParse(string, bool, out string?)"/>), refusing a <c>Version</c> other
    /// than <see cref="CurrentVersion"/> and <see cref="LegacyVersion"/>, as IAM, S3 and SQS do. Stored policies are
    /// read with <see cref="TryParse(string, bool, out string?)"/>: one put before this check keeps loading.
    /// </summary>
    public static PolicyDocument? TryParseNew(string json, bool resourcePolicy, out string? error) =>
        Parse(json, resourcePolicy, knownVersionOnly: true, out error);

    /// <summary>Parses an identity policy, or with <paramref name="resourcePolicy"/> a resource policy, whose statements need a <c>Principal</c>.</summary>
    public static PolicyDocument? TryParse(string json, bool resourcePolicy, out string? error) =>
        Parse(json, resourcePolicy, knownVersionOnly: false, out error);

    private static PolicyDocument? Parse(string json, bool resourcePolicy, bool knownVersionOnly, out string? error)
    {
        error = null;
        if (json.Length > MaxLength)
        {
            error = $"The policy document is {json.Length} characters; the limit is {MaxLength}.";
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "The policy document must be a JSON object with a Statement.";
                return null;
            }

            if (!root.TryGetProperty("Statement", out var statementElement))
            {
                error = "The policy document has no Statement.";
                return null;
            }

            // IAM: a missing Version means 2008-10-17, whose language has no policy variables.
            var hasVersion = root.TryGetProperty("Version", out var version);
            var expandsVariables = hasVersion && version.ValueKind == JsonValueKind.String && version.GetString() == CurrentVersion;
            if (knownVersionOnly && hasVersion
                && !(version.ValueKind == JsonValueKind.String && version.GetString() is CurrentVersion or LegacyVersion))
            {
                error = $"The policy must contain a valid version string: Version {version.GetRawText()} is neither \"{CurrentVersion}\" nor \"{LegacyVersion}\"; use \"Version\": \"{CurrentVersion}\".";
                return null;
            }

            var statements = new List<PolicyStatement>();
            var elements = statementElement.ValueKind == JsonValueKind.Array ? statementElement.EnumerateArray().ToList() : [statementElement];
            foreach (var element in elements)
            {
                var statement = ParseStatement(element, resourcePolicy, expandsVariables, out error);
                if (statement is null)
                {
                    return null;
                }

                statements.Add(statement);
            }

            if (statements.Count == 0)
            {
                error = "The policy document's Statement list is empty.";
                return null;
            }

            return new PolicyDocument(statements);
        }
        catch (JsonException e)
        {
            error = "The policy document is not valid JSON: " + e.Message;
            return null;
        }
    }

    private static PolicyStatement? ParseStatement(JsonElement element, bool resourcePolicy, bool expandsVariables, out string? error)
    {
        error = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            error = "Each Statement must be a JSON object.";
            return null;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (property.Name is not ("Sid" or "Effect" or "Action" or "NotAction" or "Resource" or "NotResource" or "Condition")
                && !(resourcePolicy && property.Name == "Principal"))
            {
                error = property.Name is "Principal" or "NotPrincipal"
                    ? $"'{property.Name}' is not supported in Nimbus {(resourcePolicy ? "resource" : "identity")} policies; remove it (see docs/security.md)."
                    : $"Unknown statement element '{property.Name}'.";
                return null;
            }
        }

        List<PolicyCondition> conditions = [];
        if (element.TryGetProperty("Condition", out var conditionElement))
        {
            conditions = PolicyCondition.ParseBlock(conditionElement, out error)!;
            if (conditions is null)
            {
                return null;
            }
        }

        List<string> awsPrincipals = [];
        List<string> servicePrincipals = [];
        if (resourcePolicy)
        {
            if (!element.TryGetProperty("Principal", out var principalElement) || !ReadPrincipal(principalElement, awsPrincipals, servicePrincipals))
            {
                error = "Each statement of a resource policy needs a Principal: \"*\", {\"AWS\": ARN, account id or a list of them} or {\"Service\": name}.";
                return null;
            }
        }

        var effectText = element.TryGetProperty("Effect", out var effectElement) ? effectElement.GetString() : null;
        if (effectText is not ("Allow" or "Deny"))
        {
            error = $"Effect must be \"Allow\" or \"Deny\", not '{effectText}'.";
            return null;
        }

        var (actions, notAction) = ReadList(element, "Action", "NotAction", out error);
        if (actions is null)
        {
            return null;
        }

        foreach (var action in actions)
        {
            if (action != "*" && !action.Contains(':', StringComparison.Ordinal))
            {
                error = $"Action '{action}' must have the form service:Operation, such as lambda:InvokeFunction.";
                return null;
            }
        }

        var (resources, notResource) = ReadList(element, "Resource", "NotResource", out error);
        if (resources is null)
        {
            return null;
        }

        return new PolicyStatement(effectText == "Allow" ? PolicyEffect.Allow : PolicyEffect.Deny, actions, notAction, resources, notResource)
        {
            Conditions = conditions,
            AwsPrincipals = awsPrincipals,
            ServicePrincipals = servicePrincipals,
            ExpandsVariables = expandsVariables,
        };
    }

    private static bool ReadPrincipal(JsonElement element, List<string> aws, List<string> services)
    {
        if (element.ValueKind == JsonValueKind.String)
        {
            if (element.GetString() != "*")
            {
                return false;
            }

            aws.Add("*");
            return true;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        foreach (var property in element.EnumerateObject())
        {
            var target = property.Name switch
            {
                "AWS" => aws,
                "Service" => services,
                _ => null,
            };
            if (target is null)
            {
                return false;
            }

            if (property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 } one)
            {
                target.Add(one);
            }
            else if (property.Value.ValueKind == JsonValueKind.Array && property.Value.GetArrayLength() > 0
                && property.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String && e.GetString()!.Length > 0))
            {
                target.AddRange(property.Value.EnumerateArray().Select(e => e.GetString()!));
            }
            else
            {
                return false;
            }
        }

        return aws.Count + services.Count > 0;
    }

    private static (List<string>? Values, bool Negated) ReadList(JsonElement statement, string name, string notName, out string? error)
    {
        error = null;
        var has = statement.TryGetProperty(name, out var value);
        var hasNot = statement.TryGetProperty(notName, out var notValue);
        if (has == hasNot)
        {
            error = $"Each statement needs exactly one of {name} and {notName}.";
            return (null, false);
        }

        var element = has ? value : notValue;
        var list = new List<string>();
        if (element.ValueKind == JsonValueKind.String)
        {
            list.Add(element.GetString()!);
        }
        else if (element.ValueKind == JsonValueKind.Array && element.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
        {
            list.AddRange(element.EnumerateArray().Select(e => e.GetString()!));
        }
        else
        {
            error = $"{(has ? name : notName)} must be a string or a list of strings.";
            return (null, false);
        }

        if (list.Count == 0 || list.Any(string.IsNullOrEmpty))
        {
            error = $"{(has ? name : notName)} must not be empty.";
            return (null, false);
        }

        return (list, !has);
    }
}

/// <summary>IAM's wildcard matching: <c>*</c> matches any run of characters, <c>?</c> any one character.</summary>
internal static class Wildcard
{
    public static bool Matches(string pattern, string value, bool ignoreCase)
    {
        int p = 0, v = 0, star = -1, mark = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || CharEquals(pattern[p], value[v], ignoreCase)))
            {
                p++;
                v++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = v;
            }
            else if (star >= 0)
            {
                p = star + 1;
                v = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool CharEquals(char a, char b, bool ignoreCase) =>
        a == b || (ignoreCase && char.ToLowerInvariant(a) == char.ToLowerInvariant(b));
}
