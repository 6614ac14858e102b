using System.Text.Json;
using Nimbus.Storage;

namespace Nimbus.Tests.Storage;

/// <summary>Golden test: events.db stores event invoke configs in this shape; change it only with a migration.</summary>
public sealed class EventInvokeConfigRecordShapeTests
{
    [Fact]
    public void EventInvokeConfigRecord_json_shape_is_frozen()
    {
        var record = new EventInvokeConfigRecord
        {
            MaximumRetryAttempts = 1,
            MaximumEventAgeInSeconds = 120,
            OnFailure = "arn:aws:lambda:us-east-1:000000000000:function:dlq",
            LastModifiedMs = 1_796_157_251_273,
        };

        var json = JsonSerializer.Serialize(record, EventsJsonContext.Default.EventInvokeConfigRecord);

        Assert.Equal(
            """{"MaximumRetryAttempts":1,"MaximumEventAgeInSeconds":120,"OnFailure":"arn:aws:lambda:us-east-1:000000000000:function:dlq","LastModifiedMs":1796157251273}""",
            json);
        Assert.Equal(record, SqliteEventInvokeConfigStore.Deserialize(json));
    }
}
