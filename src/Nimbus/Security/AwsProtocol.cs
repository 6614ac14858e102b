using Microsoft.AspNetCore.Http;

namespace Nimbus.Security;

/// <summary>The wire protocol an error must be written in, so the client's SDK can parse it.</summary>
internal enum AwsProtocol
{
    /// <summary>Lambda, Scheduler, the admin API: x-amzn-ErrorType + JSON body.</summary>
    RestJson,

    /// <summary>SQS (JSON), Logs, CloudWatch (JSON): <c>{"__type":..., "message":...}</c>.</summary>
    Json,

    /// <summary>SQS and CloudWatch query protocol: <c>&lt;ErrorResponse&gt;</c> XML.</summary>
    Query,

    /// <summary>S3: <c>&lt;Error&gt;&lt;Code&gt;</c> XML.</summary>
    RestXml,
}

/// <summary>
/// Tells which AWS service a request is for: from the SigV4 credential scope when there is one, else from the
/// request's shape (the same rules the router uses), so even an unsigned request gets its service's error shape.
/// </summary>
internal static class AwsServices
{
    public const string Lambda = "lambda";
    public const string S3 = "s3";
    public const string Sqs = "sqs";
    public const string Logs = "logs";
    public const string Monitoring = "monitoring";
    public const string Scheduler = "scheduler";
    public const string Events = "events";
    public const string Sns = "sns";
    public const string Admin = "nimbus";

    public const string TargetHeader = "X-Amz-Target";

    /// <summary>Lambda's API paths start with an API date (/2015-03-31/, /2021-11-15/...); Nimbus's code download too.</summary>
    public static bool IsLambdaPath(string path) =>
        path.StartsWith("/nimbus/code/", StringComparison.Ordinal)
        || (path.Length > 12 && path.StartsWith("/20", StringComparison.Ordinal) && path[5] == '-' && path[8] == '-' && path[11] == '/'
            && path.AsSpan(1, 4).IndexOfAnyExceptInRange('0', '9') < 0);

    /// <summary>The service a request looks like it is for when it carries no (parsable) credential scope.</summary>
    public static string Guess(HttpRequest request)
    {
        var target = request.Headers[TargetHeader].ToString();
        if (target.Length > 0)
        {
            if (target.StartsWith("AmazonSQS", StringComparison.Ordinal))
            {
                return Sqs;
            }

            if (target.StartsWith("Logs_", StringComparison.Ordinal))
            {
                return Logs;
            }

            if (target.StartsWith("GraniteServiceVersion", StringComparison.Ordinal))
            {
                return Monitoring;
            }

            if (target.StartsWith("AWSEvents", StringComparison.Ordinal))
            {
                return Events;
            }
        }

        var path = request.Path.Value ?? "/";
        if (IsLambdaPath(path))
        {
            return Lambda;
        }

        if (path.StartsWith("/schedules", StringComparison.Ordinal) || path.StartsWith("/schedule-groups", StringComparison.Ordinal))
        {
            return Scheduler;
        }

        if (path.StartsWith("/nimbus/admin", StringComparison.Ordinal))
        {
            return Admin;
        }

        if (request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true && request.Method == HttpMethods.Post)
        {
            return Sqs;
        }

        return S3;
    }

    public static AwsProtocol ProtocolOf(string service, HttpRequest request) => service switch
    {
        S3 => AwsProtocol.RestXml,
        Sqs or Monitoring or Sns => IsJson(request) ? AwsProtocol.Json : AwsProtocol.Query,
        Logs or Events => AwsProtocol.Json,
        _ => AwsProtocol.RestJson,
    };

    private static bool IsJson(HttpRequest request) =>
        request.Headers.ContainsKey(TargetHeader)
        || request.ContentType?.StartsWith("application/x-amz-json", StringComparison.OrdinalIgnoreCase) == true;
}
