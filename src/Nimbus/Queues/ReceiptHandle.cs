using System.Buffers.Text;
using System.Text;

namespace Nimbus.Queues;

/// <summary>
/// A receipt handle names the queue, the message and the receive it came from (a random token), base64url-encoded.
/// A handle is honoured only while its token is the message's latest.
/// </summary>
internal readonly record struct ReceiptHandle(string QueueName, string MessageId, string Token)
{
    private const char Separator = '\n';

    public string Encode() => Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{QueueName}{Separator}{MessageId}{Separator}{Token}"));

    public static bool TryDecode(string? handle, out ReceiptHandle receipt)
    {
        receipt = default;
        if (string.IsNullOrEmpty(handle) || handle.Length > 1024 || !Base64Url.IsValid(handle))
        {
            return false;
        }

        var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(handle)).Split(Separator);
        if (parts.Length != 3 || parts.Any(p => p.Length == 0))
        {
            return false;
        }

        receipt = new ReceiptHandle(parts[0], parts[1], parts[2]);
        return true;
    }

    public static string NewToken() => Guid.NewGuid().ToString("N");
}
