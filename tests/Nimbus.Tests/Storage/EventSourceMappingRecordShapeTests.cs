using System.Text.Json;
using Nimbus.Functions;
using Nimbus.Storage;

namespace Nimbus.Tests.Storage;

/// <summary>Golden test: metadata.db stores event source mappings in this shape, with AWS's state names; change it only with a migration.</summary>
public sealed class EventSourceMappingRecordShapeTests
{
    [Fact]
    public void EventSourceMappingRecord_json_shape_is_frozen()
    {
        var record = new EventSourceMappingRecord
        {
            Uuid = "a1b2c3d4-0000-4000-8000-000000000001",
            EventSourceArn = "arn:aws:sqs:us-east-1:000000000000:orders",
            FunctionName = "worker",
            Qualifier = "live",
            Enabled = true,
            BatchSize = 100,
            MaximumBatchingWindowInSeconds = 2,
            ReportBatchItemFailures = true,
            MaximumConcurrency = 5,
            FilterPatterns = ["""{"body":{"kind":["order"]}}"""],
            State = EventSourceMappingStates.Enabled,
            LastModifiedMs = 1_796_157_251_273,
        };

        var json = SqliteEventSourceMappingStore.Serialize(record);

        Assert.Equal(
            """{"Uuid":"a1b2c3d4-0000-4000-8000-000000000001","EventSourceArn":"arn:aws:sqs:us-east-1:000000000000:orders","FunctionName":"worker","Qualifier":"live","Enabled":true,"BatchSize":100,"MaximumBatchingWindowInSeconds":2,"ReportBatchItemFailures":true,"MaximumConcurrency":5,"FilterPatterns":["{\u0022body\u0022:{\u0022kind\u0022:[\u0022order\u0022]}}"],"State":"Enabled","StateTransitionReason":"USER_INITIATED","LastModifiedMs":1796157251273}""",
            json);
        var back = JsonSerializer.Deserialize(json, EventSourceMappingStorageJsonContext.Default.EventSourceMappingRecord)!;
        Assert.Equal(record.FilterPatterns, back.FilterPatterns);
        Assert.Equal(record with { FilterPatterns = null }, back with { FilterPatterns = null });
    }

    [Fact]
    public void Mapping_state_names_are_AWS_names_and_frozen()
    {
        Assert.Equal(
            ["Creating", "Enabling", "Enabled", "Disabling", "Disabled", "Updating", "Deleting", "USER_INITIATED"],
            [EventSourceMappingStates.Creating, EventSourceMappingStates.Enabling, EventSourceMappingStates.Enabled, EventSourceMappingStates.Disabling,
             EventSourceMappingStates.Disabled, EventSourceMappingStates.Updating, EventSourceMappingStates.Deleting, EventSourceMappingStates.UserInitiated]);
    }
}
