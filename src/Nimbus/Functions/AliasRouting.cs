using System.Globalization;

namespace Nimbus.Functions;

/// <summary>
/// Alias rules as AWS applies them (name, target version, routing weights, in AWS's order and wording) and the
/// per-invoke choice of version under a weighted alias.
/// </summary>
internal static class AliasRouting
{
    public const int MaxAliasNameLength = 128;
    public const int MaxFunctionVersionLength = 1024;

    public static LambdaError? ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return LambdaError.ValidationFailed("null", "name", "Member must not be null");
        }

        if (name.Length > MaxAliasNameLength)
        {
            return LambdaError.ValidationFailed(name, "name", $"Member must have length less than or equal to {MaxAliasNameLength}");
        }

        return LambdaLimits.AliasNamePattern().IsMatch(name) && !Qualifiers.IsVersion(name)
            ? null
            : LambdaError.ValidationFailed(name, "name", "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)");
    }

    public static LambdaError? ValidateFunctionVersion(string? version)
    {
        if (string.IsNullOrEmpty(version))
        {
            return LambdaError.ValidationFailed("null", "functionVersion", "Member must not be null");
        }

        if (version.Length > MaxFunctionVersionLength)
        {
            return LambdaError.ValidationFailed(version, "functionVersion", $"Member must have length less than or equal to {MaxFunctionVersionLength}");
        }

        return version == FunctionRecord.Latest || Qualifiers.IsVersion(version)
            ? null
            : LambdaError.ValidationFailed(version, "functionVersion", "Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)");
    }

    /// <summary>
    /// Checks <c>AdditionalVersionWeights</c> against the alias's primary version: one entry at most, a weight from
    /// 0.0 to 1.0, another published version than the primary, and a primary that is not <c>$LATEST</c>. Whether
    /// the extra version exists is the store's to check.
    /// </summary>
    public static LambdaError? ValidateWeights(IReadOnlyDictionary<string, double>? weights, string primaryVersion)
    {
        if (weights is null || weights.Count == 0)
        {
            return null;
        }

        if (weights.Count > 1)
        {
            return LambdaError.InvalidParameter("Number of items in AdditionalVersionWeights cannot be greater than 1");
        }

        var (version, weight) = weights.First();
        var shown = $"{{{version}={FormatWeight(weight)}}}";
        if (double.IsNaN(weight) || weight is < 0.0 or > 1.0)
        {
            return LambdaError.ValidationFailed(shown, "routingConfig.additionalVersionWeights",
                "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]");
        }

        if (version == primaryVersion)
        {
            return LambdaError.InvalidParameter($"Invalid function version {primaryVersion}. Function version {primaryVersion} is already included in routing configuration.");
        }

        if (primaryVersion == FunctionRecord.Latest)
        {
            return LambdaError.InvalidParameter("$LATEST is not supported for an alias pointing to more than 1 version");
        }

        return Qualifiers.IsVersion(version)
            ? null
            : LambdaError.ValidationFailed(shown, "routingConfig.additionalVersionWeights",
                "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+, Member must not be null]");
    }

    /// <summary>
    /// The version one invocation runs: the additional version when <paramref name="sample"/> (uniform in [0, 1))
    /// falls below its weight, otherwise the primary.
    /// </summary>
    public static string Choose(AliasRecord alias, double sample)
    {
        if (alias.AdditionalVersionWeights is { Count: > 0 } weights)
        {
            foreach (var (version, weight) in weights)
            {
                if (sample < weight)
                {
                    return version;
                }

                sample -= weight;
            }
        }

        return alias.FunctionVersion;
    }

    /// <summary>A weight as Java prints a double in AWS's messages: 0.5, 1.0, 2.0.</summary>
    private static string FormatWeight(double weight)
    {
        var text = weight.ToString("R", CultureInfo.InvariantCulture);
        return double.IsFinite(weight) && !text.Contains('.', StringComparison.Ordinal) && !text.Contains('E', StringComparison.Ordinal) ? text + ".0" : text;
    }
}
