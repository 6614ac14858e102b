using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Security;

/// <summary>The credential scope: <c>AKID/yyyymmdd/region/service/aws4_request</c>.</summary>
internal sealed record SigV4Scope(string AccessKeyId, string Date, string Region, string Service)
{
    public string Value => SigV4.Scope(Date, Region, Service);

    /// <summary>Parses a Credential value; null when it does not have AWS's five parts.</summary>
    public static SigV4Scope? TryParse(string? credential)
    {
        if (credential is null)
        {
            return null;
        }

        // Split in place: every signed request passes here.
        var value = credential.AsSpan();
        Span<Range> parts = stackalloc Range[6];
        if (value.Split(parts, '/') != 5)
        {
            return null;
        }

        foreach (var part in parts[..5])
        {
            if (part.GetOffsetAndLength(value.Length).Length == 0)
            {
                return null;
            }
        }

        var date = value[parts[1]];
        if (!value[parts[4]].SequenceEqual(SigV4.Terminator) || date.Length != 8 || date.ContainsAnyExceptInRange('0', '9'))
        {
            return null;
        }

        return new SigV4Scope(value[parts[0]].ToString(), date.ToString(), value[parts[2]].ToString(), value[parts[3]].ToString());
    }
}

/// <summary>A request's SigV4 signature, from the Authorization header or from a presigned URL's query.</summary>
internal sealed record SigV4Signature(
    bool Presigned,
    SigV4Scope Scope,
    string AmzDate,
    DateTimeOffset Timestamp,
    string SignedHeaders,
    string Signature,
    string? SecurityToken,
    int ExpiresSeconds)
{
    /// <summary>
    /// Reads the signature of <paramref name="request"/>. Returns a failure (Missing or Malformed) when there is none
    /// or it is incomplete; <paramref name="scope"/> is set whenever a credential scope could be read, so the error is
    /// written in the scope's service's shape.
    /// </summary>
    public static AuthFailure? TryRead(HttpRequest request, out SigV4Signature? signature, out SigV4Scope? scope)
    {
        signature = null;
        scope = null;
        var query = request.Query;
        var authorization = request.Headers.Authorization.ToString();
        if (query.ContainsKey(SigV4.AlgorithmQuery) || query.ContainsKey(SigV4.SignatureQuery))
        {
            return TryReadQuery(request, out signature, out scope);
        }

        if (authorization.Length == 0)
        {
            return query.ContainsKey("AWSAccessKeyId") && query.ContainsKey("Signature")
                ? AuthFailure.Malformed("A Signature Version 2 presigned URL needs AWSAccessKeyId, Expires and Signature, and no Authorization header.")
                : AuthFailure.Missing();
        }

        if (!authorization.StartsWith(SigV4.Algorithm + " ", StringComparison.Ordinal))
        {
            return AuthFailure.Malformed($"Authorization header requires the {SigV4.Algorithm} algorithm (Signature Version 4); got '{First(authorization)}'.");
        }

        // Read as spans: only the three values become strings.
        string? credential = null, signedHeaders = null, signatureValue = null;
        var parameters = authorization.AsSpan(SigV4.Algorithm.Length + 1);
        foreach (var range in parameters.Split(','))
        {
            var item = parameters[range].Trim();
            var equals = item.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }

            var key = item[..equals].Trim();
            var value = item[(equals + 1)..].Trim();
            if (key.SequenceEqual("Credential"))
            {
                credential = value.ToString();
            }
            else if (key.SequenceEqual("SignedHeaders"))
            {
                signedHeaders = value.ToString();
            }
            else if (key.SequenceEqual("Signature"))
            {
                signatureValue = value.ToString();
            }
        }

        scope = SigV4Scope.TryParse(credential);
        var missing = new List<string>();
        if (credential is null)
        {
            missing.Add("Credential");
        }

        if (signedHeaders is null)
        {
            missing.Add("SignedHeaders");
        }

        if (signatureValue is null)
        {
            missing.Add("Signature");
        }

        if (missing.Count > 0)
        {
            return AuthFailure.Malformed($"Authorization header requires '{string.Join("', '", missing)}' parameter(s). Authorization=" + First(authorization));
        }

        if (scope is null)
        {
            return AuthFailure.Malformed($"Credential '{credential}' must have the form <AccessKeyId>/<yyyymmdd>/<region>/<service>/aws4_request.");
        }

        var amzDate = request.Headers[SigV4.AmzDateHeader].ToString();
        DateTimeOffset timestamp;
        if (amzDate.Length > 0)
        {
            if (!SigV4.TryParseAmzDate(amzDate, out timestamp))
            {
                return AuthFailure.Malformed($"X-Amz-Date '{amzDate}' must have the ISO 8601 basic form yyyyMMddTHHmmssZ.");
            }
        }
        else if (DateTimeOffset.TryParse(request.Headers.Date.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out timestamp))
        {
            amzDate = SigV4.FormatAmzDate(timestamp);
        }
        else
        {
            return AuthFailure.Malformed("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
        }

        if (!Signs(signedHeaders!, "host"))
        {
            return AuthFailure.Malformed("The 'host' header must be signed (SignedHeaders).");
        }

        var token = request.Headers[SigV4.SecurityTokenHeader].ToString();
        if (token.Length > 0 && !Signs(signedHeaders!, "x-amz-security-token"))
        {
            return AuthFailure.Malformed("The 'x-amz-security-token' header must be signed (SignedHeaders).");
        }

        var failure = CheckScopeDate(scope, amzDate);
        signature = new SigV4Signature(false, scope, amzDate, timestamp, signedHeaders!, signatureValue!, token.Length > 0 ? token : null, 0);
        return failure;
    }

    private static AuthFailure? TryReadQuery(HttpRequest request, out SigV4Signature? signature, out SigV4Scope? scope)
    {
        signature = null;
        var query = request.Query;
        scope = SigV4Scope.TryParse(query[SigV4.CredentialQuery].ToString());
        var missing = new[] { SigV4.AlgorithmQuery, SigV4.CredentialQuery, SigV4.DateQuery, SigV4.SignedHeadersQuery, SigV4.SignatureQuery, SigV4.ExpiresQuery }
            .Where(name => string.IsNullOrEmpty(query[name].ToString()))
            .ToList();
        if (missing.Count > 0)
        {
            return AuthFailure.Malformed($"Query-string authentication requires the {string.Join(", ", missing)} parameter(s).");
        }

        if (query[SigV4.AlgorithmQuery].ToString() != SigV4.Algorithm)
        {
            return AuthFailure.Malformed($"X-Amz-Algorithm only supports \"{SigV4.Algorithm}\".");
        }

        if (scope is null)
        {
            return AuthFailure.Malformed($"X-Amz-Credential '{query[SigV4.CredentialQuery]}' must have the form <AccessKeyId>/<yyyymmdd>/<region>/<service>/aws4_request.");
        }

        var amzDate = query[SigV4.DateQuery].ToString();
        if (!SigV4.TryParseAmzDate(amzDate, out var timestamp))
        {
            return AuthFailure.Malformed($"X-Amz-Date '{amzDate}' must have the ISO 8601 basic form yyyyMMddTHHmmssZ.");
        }

        if (!int.TryParse(query[SigV4.ExpiresQuery].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var expires) || expires < 1)
        {
            return AuthFailure.Malformed("X-Amz-Expires must be a whole number of seconds, at least 1.");
        }

        if (expires > SigV4.MaxPresignedExpirySeconds)
        {
            return AuthFailure.Malformed($"X-Amz-Expires must be less than a week (in seconds) that is; {SigV4.MaxPresignedExpirySeconds} or less.");
        }

        var signedHeaders = query[SigV4.SignedHeadersQuery].ToString();
        if (!Signs(signedHeaders, "host"))
        {
            return AuthFailure.Malformed("The 'host' header must be signed (X-Amz-SignedHeaders).");
        }

        var token = query[SigV4.SecurityTokenQuery].ToString();
        var failure = CheckScopeDate(scope, amzDate);
        signature = new SigV4Signature(true, scope, amzDate, timestamp, signedHeaders, query[SigV4.SignatureQuery].ToString(), token.Length > 0 ? token : null, expires);
        return failure;
    }

    /// <summary>True when <paramref name="name"/> is one of the ';'-separated <paramref name="signedHeaders"/>.</summary>
    private static bool Signs(string signedHeaders, string name)
    {
        var names = signedHeaders.AsSpan();
        foreach (var range in names.Split(';'))
        {
            if (names[range].SequenceEqual(name))
            {
                return true;
            }
        }

        return false;
    }

    private static AuthFailure? CheckScopeDate(SigV4Scope scope, string amzDate) =>
        amzDate.StartsWith(scope.Date, StringComparison.Ordinal)
            ? null
            : AuthFailure.Malformed($"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope.Date}' != '{amzDate[..Math.Min(8, amzDate.Length)]}', from '{amzDate}'.");

    private static string First(string value) => value.Length <= 40 ? value : value[..40] + "...";
}
