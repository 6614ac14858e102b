using System.Globalization;
using System.Text;

namespace Nimbus.Queues;

/// <summary>What SQS accepts in a message: body characters, size, attribute names and types, FIFO ids.</summary>
internal static class MessageRules
{
    /// <summary>Checks the body and attributes; returns the size the message counts against MaximumMessageSize.</summary>
    public static QueueResult<int> Validate(QueueMessageInput input, int maximumSize)
    {
        if (string.IsNullOrEmpty(input.Body))
        {
            return QueueError.Missing("MessageBody");
        }

        if (!HasValidCharacters(input.Body))
        {
            return new QueueError(SqsWire.Errors.InvalidMessageContents,
                "Invalid characters found. Valid values: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.");
        }

        var size = Encoding.UTF8.GetByteCount(input.Body);
        if (input.Attributes is { } attributes)
        {
            if (attributes.Count > SqsWire.Limits.MaxMessageAttributes)
            {
                return QueueError.InvalidParameter(
                    $"Number of message attributes [{attributes.Count}] exceeds the allowed maximum [{SqsWire.Limits.MaxMessageAttributes}].");
            }

            foreach (var (name, value) in attributes)
            {
                if (ValidateAttribute(name, value) is { } error)
                {
                    return error;
                }

                size += value.Size(name);
            }
        }

        if (size > maximumSize)
        {
            return QueueError.InvalidParameter(
                $"One or more parameters are invalid. Reason: Message must be shorter than {maximumSize} bytes (this one is {size} bytes, body and attributes).");
        }

        return input.DelaySeconds is < 0 or > SqsWire.Limits.MaxDelaySeconds
            ? QueueError.InvalidParameter($"Value {input.DelaySeconds} for parameter DelaySeconds is invalid. Reason: must be between 0 and {SqsWire.Limits.MaxDelaySeconds}, if provided.")
            : size;
    }

    public static QueueError? ValidateAttribute(string name, MessageAttributeValue value)
    {
        if (name.Length == 0 || name.Length > SqsWire.Limits.MaxAttributeNameLength
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')
            || name.StartsWith('.') || name.EndsWith('.') || name.Contains("..", StringComparison.Ordinal)
            || name.StartsWith("AWS.", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Amazon.", StringComparison.OrdinalIgnoreCase))
        {
            return QueueError.InvalidParameter(
                $"Message attribute name '{name}' is invalid: use up to 256 of A-Z a-z 0-9 _ - . (no leading, trailing or double period; no AWS. or Amazon. prefix).");
        }

        var type = value.DataType;
        var baseType = type.Split('.', 2)[0];
        if (baseType is not ("String" or "Number" or "Binary") || type.Length > SqsWire.Limits.MaxAttributeNameLength || (type.Contains('.') && type.EndsWith('.')))
        {
            return QueueError.InvalidParameter(
                $"The message attribute '{name}' has an invalid message attribute type '{type}': the set of supported type prefixes is Binary, Number, and String.");
        }

        if (baseType == "Binary")
        {
            return value.BinaryValue is { Length: > 0 } ? null
                : QueueError.InvalidParameter($"The message attribute '{name}' with type 'Binary' must use field 'Binary'.");
        }

        if (string.IsNullOrEmpty(value.StringValue))
        {
            return QueueError.InvalidParameter($"The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{type}'.");
        }

        if (!HasValidCharacters(value.StringValue))
        {
            return new QueueError(SqsWire.Errors.InvalidMessageContents, $"The message attribute '{name}' contains characters SQS does not allow.");
        }

        return baseType == "Number" && !decimal.TryParse(value.StringValue, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? QueueError.InvalidParameter($"Can't cast the value of message (user) attribute '{name}' to a number.")
            : null;
    }

    /// <summary>MessageGroupId and MessageDeduplicationId: 1-128 characters of ASCII 33-126.</summary>
    public static QueueError? ValidateFifoId(string parameter, string? value) =>
        value is null || (value.Length is > 0 and <= SqsWire.Limits.MaxDeduplicationIdLength && value.All(c => c is >= '!' and <= '~'))
            ? null
            : QueueError.InvalidParameter($"Value {value} for parameter {parameter} is invalid. Reason: it must be 1 to 128 characters of a-z, A-Z, 0-9 and punctuation.");

    public static bool HasValidCharacters(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '\t' or '\n' or '\r' || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD))
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            return false;
        }

        return true;
    }
}
