using System.Collections.Frozen;

namespace Nimbus.Metrics;

/// <summary>
/// The IAM action of each CloudWatch (metrics) operation, <c>cloudwatch:&lt;Operation&gt;</c> as AWS names them. The
/// metric operations have no resource type on AWS, so they are checked against <c>*</c>.
/// </summary>
internal static class CloudWatchActions
{
    public const string AnyResource = "*";

    private static readonly FrozenDictionary<string, string> Table = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["GetMetricStatistics"] = "cloudwatch:GetMetricStatistics",
        ["GetMetricData"] = "cloudwatch:GetMetricData",
        ["ListMetrics"] = "cloudwatch:ListMetrics",
        ["PutMetricData"] = "cloudwatch:PutMetricData",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static string ActionOf(string operation) => Table.TryGetValue(operation, out var action) ? action : "cloudwatch:" + operation;
}
