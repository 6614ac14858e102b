namespace Nimbus.Queues;

/// <summary>
/// One message attribute as SQS stores it. <see cref="DataType"/> is <c>String</c>, <c>Number</c> or <c>Binary</c>,
/// optionally with a custom suffix (<c>Number.float</c>); exactly one of the values is set.
/// </summary>
internal sealed record MessageAttributeValue(string DataType, string? StringValue, byte[]? BinaryValue)
{
    public bool IsBinary => DataType.StartsWith("Binary", StringComparison.Ordinal);

    /// <summary>Bytes this attribute adds to the message size: name, type and value, as AWS counts them.</summary>
    public int Size(string name) =>
        System.Text.Encoding.UTF8.GetByteCount(name) + System.Text.Encoding.UTF8.GetByteCount(DataType)
        + (BinaryValue?.Length ?? System.Text.Encoding.UTF8.GetByteCount(StringValue ?? ""));
}
