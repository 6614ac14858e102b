namespace Nimbus.Queues;

/// <summary>An expected SQS failure: returned as a value, written in the caller's protocol as a 400 (or 500 for ours).</summary>
internal sealed record QueueError(SqsErrorCode Code, string Message, bool SenderFault = true, int Status = 400)
{
    public static QueueError NoQueue() =>
        new(SqsWire.Errors.QueueDoesNotExist, "The specified queue does not exist.");

    public static QueueError InvalidParameter(string message) => new(SqsWire.Errors.InvalidParameterValue, message);

    public static QueueError Missing(string parameter) =>
        new(SqsWire.Errors.MissingParameter, $"The request must contain the parameter {parameter}.");

    public static QueueError BadReceiptHandle(string handle) =>
        new(SqsWire.Errors.ReceiptHandleIsInvalid, $"The input receipt handle \"{handle}\" is not a valid receipt handle.");
}
