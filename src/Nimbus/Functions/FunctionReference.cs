namespace Nimbus.Functions;

/// <summary>
/// A function as the caller named it: a bare name, a full or partial ARN, each optionally with a qualifier,
/// plus the <c>Qualifier</c> query parameter.
/// </summary>
internal readonly record struct FunctionReference(string Name, string? Qualifier)
{
    public static LambdaResult<FunctionReference> Parse(string raw, string? qualifier, string region, string accountId)
    {
        var match = LambdaLimits.FunctionReferencePattern().Match(raw);
        var isArn = raw.StartsWith("arn:", StringComparison.Ordinal) || raw.Contains(':', StringComparison.Ordinal);
        var maxLength = isArn ? LambdaLimits.MaxFunctionArnLength : LambdaLimits.MaxFunctionNameLength;
        if (raw.Length > maxLength)
        {
            return LambdaError.ValidationFailed(raw, "functionName", $"Member must have length less than or equal to {maxLength}");
        }

        if (!match.Success)
        {
            return LambdaError.ValidationFailed(raw, "functionName",
                "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?");
        }

        var name = match.Groups[11].Value;
        var arnRegion = match.Groups[3].Success ? match.Groups[3].Value.TrimEnd(':') : null;
        var arnAccount = match.Groups[9].Success ? match.Groups[9].Value.TrimEnd(':') : null;
        var arnQualifier = match.Groups[13].Success ? match.Groups[13].Value : null;
        if ((arnRegion is not null && arnRegion != region) || (arnAccount is not null && arnAccount != accountId))
        {
            return LambdaError.FunctionNotFound(raw);
        }

        if (qualifier is { Length: > 0 })
        {
            if (!LambdaLimits.QualifierPattern().IsMatch(qualifier) || qualifier.Length > 128)
            {
                return LambdaError.ValidationFailed(qualifier, "qualifier", "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)");
            }

            if (arnQualifier is not null && arnQualifier != qualifier)
            {
                return LambdaError.InvalidParameter("The derived qualifier from the function name does not match the specified qualifier.");
            }
        }

        return new FunctionReference(name, qualifier is { Length: > 0 } ? qualifier : arnQualifier);
    }
}
