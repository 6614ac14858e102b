using Microsoft.AspNetCore.Http;
using Nimbus.Metrics;

namespace Nimbus.Tests.Metrics;

public sealed class RequestCountersTests
{
    [Theory]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=ab", "/", "lambda")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKID/20261203/eu-west-1/execute-api/aws4_request,SignedHeaders=host,Signature=ab", "/", "execute-api")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/la mbda/aws4_request", "/", "unsigned")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1/lambda/extra/aws4_request", "/", "unsigned")]
    [InlineData("AWS4-HMAC-SHA256 Credential=AKID/20261203/us-east-1//aws4_request", "/health", "health")]
    [InlineData("", "/metrics", "metrics")]
    [InlineData("", "/nimbus/usage", "nimbus")]
    public void Requests_are_counted_by_the_service_of_their_credential_scope(string authorization, string path, string api)
    {
        var request = new DefaultHttpContext().Request;
        request.Path = path;
        request.Headers.Host = "127.0.0.1";
        if (authorization.Length > 0)
        {
            request.Headers.Authorization = authorization;
        }

        Assert.Equal(api, RequestCounters.Classify(request));
    }
}
