using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nimbus.Storage;

namespace Nimbus.Invocation;

/// <summary>
/// The record an asynchronous invocation's destination receives, in AWS's shape: <c>version</c>,
/// <c>timestamp</c>, <c>requestContext</c> (<c>requestId</c>, <c>functionArn</c>, <c>condition</c>,
/// <c>approximateInvokeCount</c>), <c>requestPayload</c>, and, when the function ran, <c>responseContext</c>
/// (<c>statusCode</c>, <c>executedVersion</c>, <c>functionError</c>) and <c>responsePayload</c>.
/// </summary>
internal static class DestinationRecord
{
    public const string Version = "1.0";

    /// <summary>The <c>functionError</c> Lambda reports for an error the function did not handle itself.</summary>
    public const string UnhandledFunctionError = "Unhandled";

    public static byte[] Build(StoredEvent item, string functionArn, AsyncOutcome outcome, InvocationResult? result, DateTimeOffset now)
    {
        var record = new JsonObject
        {
            ["version"] = Version,
            ["timestamp"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["requestContext"] = new JsonObject
            {
                ["requestId"] = item.RequestId,
                ["functionArn"] = functionArn,
                ["condition"] = outcome.ToString(),
                ["approximateInvokeCount"] = item.InvokeCount,
            },
            ["requestPayload"] = Payload(item.Payload),
        };

        if (result is not null)
        {
            var response = new JsonObject
            {
                ["statusCode"] = 200,
                ["executedVersion"] = result.ExecutedVersion,
            };
            if (result.Status == InvocationStatus.FunctionError)
            {
                response["functionError"] = UnhandledFunctionError;
            }

            record["responseContext"] = response;
            record["responsePayload"] = Payload(result.Payload);
        }

        return Encoding.UTF8.GetBytes(record.ToJsonString());
    }

    /// <summary>A payload as JSON: parsed when it is JSON, else its text; an empty one is null.</summary>
    private static JsonNode? Payload(byte[] payload)
    {
        if (payload.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(payload);
        }
        catch (JsonException)
        {
            return JsonValue.Create(Encoding.UTF8.GetString(payload));
        }
    }
}
