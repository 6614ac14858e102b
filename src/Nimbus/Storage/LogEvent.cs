namespace Nimbus.Storage;

/// <summary>One line of a function's log, as CloudWatch Logs models it.</summary>
internal readonly record struct LogEvent(string LogGroup, string LogStream, long TimestampMs, string Message);
