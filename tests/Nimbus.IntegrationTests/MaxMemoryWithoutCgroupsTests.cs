using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Max Memory Used where no cgroup accounts for an instance (<c>NIMBUS_USE_CGROUPS=false</c>, every server run by an
/// ordinary user): the peaks of its process tree, read through status files kept open between walks of the tree.
/// </summary>
public sealed partial class MaxMemoryWithoutCgroupsTests(MaxMemoryWithoutCgroupsTests.NoCgroupServerFixture fixture) : IClassFixture<MaxMemoryWithoutCgroupsTests.NoCgroupServerFixture>
{
    [Fact]
    public Task Max_Memory_Used_in_REPORT_follows_a_warm_instance_that_grows() => fixture.RunAsync(async scope =>
    {
        var name = scope.NewFunctionName();
        var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.Build(FunctionZips.NodeLimits), "nodejs20.x", "memory.handler");
        request["MemorySize"] = 512;
        request["Timeout"] = 30;
        var created = await scope.Lambda.CreateFunctionAsync(request);
        Assert.True(created.StatusCode == 201, $"CreateFunction {name} should answer 201.{Environment.NewLine}{created}");

        var small = await scope.Lambda.InvokeAsync(name, """{"mb":1}""", logType: "Tail");
        var smallUsed = MaxMemoryUsedMb(small);
        Assert.True(smallUsed < 100, $"An instance holding 1 MB should report far less than 100 MB used; it reported {smallUsed} MB.{Environment.NewLine}{small}");

        // The same instance (it holds 101 MB now) right after: a REPORT that read the runtime's peak only at the tree's
        // walks, or not at all, would still show the first figure.
        var big = await scope.Lambda.InvokeAsync(name, """{"mb":100}""", logType: "Tail");
        Assert.Equal(101, big.Json().GetProperty("heldMb").GetInt32());
        var bigUsed = MaxMemoryUsedMb(big);
        Assert.True(bigUsed >= smallUsed + 100 && bigUsed <= 512, $"After 100 MB more the instance should report at least {smallUsed + 100} MB used; it reported {bigUsed} MB.{Environment.NewLine}{big}");
    });

    private static long MaxMemoryUsedMb(HttpResult response)
    {
        Assert.True(response.StatusCode == 200 && response.Header("X-Amz-Function-Error") is null, $"Expected 200 without X-Amz-Function-Error.{Environment.NewLine}{response}");
        var log = Encoding.UTF8.GetString(Convert.FromBase64String(response.Header("X-Amz-Log-Result") ?? ""));
        var match = MaxMemoryUsed().Matches(log).LastOrDefault();
        Assert.True(match is not null, $"Expected 'Max Memory Used: N MB' in the REPORT line.{Environment.NewLine}log:{Environment.NewLine}{log}");
        return long.Parse(match.Groups["mb"].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"REPORT RequestId: [^\n]*Max Memory Used: (?<mb>\d+) MB")]
    private static partial Regex MaxMemoryUsed();

    /// <summary>A server whose instances have no cgroup.</summary>
    public sealed class NoCgroupServerFixture() : ServerFixture("nimbus-it-no-cgroups", new Dictionary<string, string> { ["NIMBUS_USE_CGROUPS"] = "false" });
}
