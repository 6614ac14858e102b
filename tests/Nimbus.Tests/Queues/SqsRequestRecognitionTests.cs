using Microsoft.AspNetCore.Http;
using Nimbus.Queues;

namespace Nimbus.Tests.Queues;

/// <summary>
/// Every request to the main port passes the SQS front door first; <see cref="SqsApi.MayBeSqsRequest"/> lets the
/// others through without reading them, so it must never turn an SQS request of either protocol away.
/// </summary>
public sealed class SqsRequestRecognitionTests
{
    [Theory]
    [InlineData("POST", "/", "", "AmazonSQS.SendMessage", "application/x-amz-json-1.0")]
    [InlineData("POST", "/", "", "", "application/x-www-form-urlencoded")]
    [InlineData("POST", "/000000000000/q", "", "", "application/x-www-form-urlencoded; charset=utf-8")]
    [InlineData("POST", "/000000000000/q", "", "", "Application/X-WWW-Form-UrlEncoded")]
    [InlineData("GET", "/", "?Action=ListQueues", "", "")]
    [InlineData("GET", "/000000000000/q", "?Action=ReceiveMessage&Version=2012-11-05", "", "")]
    [InlineData("POST", "/", "?Action=CreateQueue&QueueName=q", "", "application/json")]
    public void Sqs_requests_of_both_protocols_are_looked_at(string method, string path, string query, string target, string contentType)
    {
        Assert.True(SqsApi.MayBeSqsRequest(Request(method, path, query, target, contentType)));
    }

    [Theory]
    [InlineData("POST", "/2015-03-31/functions/f/invocations", "", "", "")]
    [InlineData("POST", "/2015-03-31/functions/f/invocations", "", "", "application/json")]
    [InlineData("PUT", "/bucket/key", "", "", "application/octet-stream")]
    [InlineData("POST", "/", "", "Logs_20140328.PutLogEvents", "application/x-amz-json-1.1")]
    [InlineData("GET", "/health", "", "", "")]
    public void Other_requests_pass_without_being_read(string method, string path, string query, string target, string contentType)
    {
        Assert.False(SqsApi.MayBeSqsRequest(Request(method, path, query, target, contentType)));
    }

    private static HttpRequest Request(string method, string path, string query, string target, string contentType)
    {
        var request = new DefaultHttpContext().Request;
        request.Method = method;
        request.Path = path;
        request.QueryString = new QueryString(query.Length > 0 ? query : null);
        if (target.Length > 0)
        {
            request.Headers["X-Amz-Target"] = target;
        }

        if (contentType.Length > 0)
        {
            request.ContentType = contentType;
        }

        return request;
    }
}
