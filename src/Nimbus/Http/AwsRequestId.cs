using Microsoft.AspNetCore.Http;

namespace Nimbus.Http;

/// <summary>Every AWS response carries <c>x-amzn-RequestId</c>; Invoke reuses it as the invocation's request id.</summary>
internal static class AwsRequestId
{
    public const string Header = "x-amzn-RequestId";
    private const string ItemKey = "nimbus.request-id";

    public static string Get(HttpContext context)
    {
        if (context.Items.TryGetValue(ItemKey, out var existing) && existing is string id)
        {
            return id;
        }

        id = Guid.NewGuid().ToString();
        context.Items[ItemKey] = id;
        context.Response.Headers[Header] = id;
        return id;
    }
}
