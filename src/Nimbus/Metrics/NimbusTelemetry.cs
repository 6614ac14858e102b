using System.Diagnostics;

namespace Nimbus.Metrics;

/// <summary>
/// The platform's one trace source. Spans cost nothing until a listener (the OTLP exporter, when configured)
/// subscribes: <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> then returns null.
/// </summary>
internal static class NimbusTelemetry
{
    public const string SourceName = "Nimbus";

    public static readonly ActivitySource Source = new(SourceName);

    // Span names, one place: tests and dashboards look for them.
    public const string RequestSpan = "nimbus.request";
    public const string InvokeSpan = "lambda.invoke";
    public const string ColdStartSpan = "lambda.cold_start";
    public const string InitSpan = "lambda.init";
    public const string RunSpan = "lambda.run";
    public const string AsyncEnqueueSpan = "lambda.async.enqueue";
    public const string AsyncRunSpan = "lambda.async.run";

    // Deliveries by the event sources, each the parent of the invocation it causes.
    public const string QueueBatchSpan = "lambda.event_source.sqs.batch";
    public const string BucketNotificationSpan = "s3.notification.deliver";
    public const string ScheduleFireSpan = "scheduler.fire";
}
