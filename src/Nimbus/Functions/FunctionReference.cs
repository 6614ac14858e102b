using System.Buffers;

namespace Nimbus.Functions;

/// <summary>
/// A function as the caller named it: a bare name, a full or partial ARN, each optionally with a qualifier,
/// plus the <c>Qualifier</c> query parameter.
/// </summary>
internal readonly record struct FunctionReference(string Name, string? Qualifier)
{
    /// <summary>The characters of a bare function name (the pattern's <c>[a-zA-Z0-9-_]+</c>).</summary>
    private static readonly SearchValues<char> NameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");

    public static LambdaResult<FunctionReference> Parse(string raw, string? qualifier, string region, string accountId)
    {
        string name;
        string? arnQualifier;
        if (raw.Length is > 0 and <= LambdaLimits.MaxFunctionNameLength && !raw.AsSpan().ContainsAnyExcept(NameChars))
        {
            // A bare name, the form of nearly every Invoke: without a ':' no ARN part of the pattern can match, so the
            // whole of it is the name. Checked without the regex, whose Match and groups every invoke would allocate.
            (name, arnQualifier) = (raw, null);
        }
        else
        {
            var parsed = ParseArn(raw, region, accountId);
            if (parsed.IsError)
            {
                return parsed.Error!;
            }

            (name, arnQualifier) = (parsed.Value.Name, parsed.Value.Qualifier);
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

    /// <summary>Any other form, full or partial ARN, with or without a qualifier, by the pattern AWS documents.</summary>
    private static LambdaResult<FunctionReference> ParseArn(string raw, string region, string accountId)
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

        var arnRegion = match.Groups[3].Success ? match.Groups[3].Value.TrimEnd(':') : null;
        var arnAccount = match.Groups[9].Success ? match.Groups[9].Value.TrimEnd(':') : null;
        if ((arnRegion is not null && arnRegion != region) || (arnAccount is not null && arnAccount != accountId))
        {
            return LambdaError.FunctionNotFound(raw);
        }

        return new FunctionReference(match.Groups[11].Value, match.Groups[13].Success ? match.Groups[13].Value : null);
    }
}
