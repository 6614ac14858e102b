using Nimbus.Http;

namespace Nimbus.Tests.Http;

public sealed class InvokeRouteTests
{
    [Theory]
    [InlineData("/2015-03-31/functions/my-function/invocations", "my-function")]
    [InlineData("/2015-03-31/functions/my-function:live/invocations", "my-function:live")]
    [InlineData("/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f:7/invocations", "arn:aws:lambda:us-east-1:000000000000:function:f:7")]
    [InlineData("/2015-03-31/functions/a%2Fb/invocations", "a%2Fb")]
    public void The_exact_Invoke_path_gives_its_function_segment_as_the_matcher_would(string path, string expected)
    {
        Assert.True(InvokeRoute.TryGetFunctionName(path, out var name));
        Assert.Equal(expected, name);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/2015-03-31/functions")]
    [InlineData("/2015-03-31/functions/invocations")]
    [InlineData("/2015-03-31/functions//invocations")]
    [InlineData("/2015-03-31/functions/f/invocations/")]
    [InlineData("/2015-03-31/functions/a/b/invocations")]
    [InlineData("/2015-03-31/FUNCTIONS/f/invocations")]
    [InlineData("/2015-03-31/functions/f/Invocations")]
    [InlineData("/2015-03-31/functions/f/versions")]
    [InlineData("/2021-11-15/functions/f/response-streaming-invocations")]
    [InlineData("/2015-03-31/functions/f/invocationsx")]
    public void Every_other_path_is_left_to_the_matcher(string? path) =>
        Assert.False(InvokeRoute.TryGetFunctionName(path, out _));
}
