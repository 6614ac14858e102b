using System.Xml.Linq;
using Nimbus.Buckets;

namespace Nimbus.Events;

/// <summary>Where a bucket notification goes.</summary>
internal enum NotificationTargetKind
{
    Lambda,
    Queue,
}

/// <summary>One configuration of a bucket's NotificationConfiguration: which events, filtered how, go where.</summary>
internal sealed record NotificationRule(string Id, NotificationTargetKind Kind, string TargetArn, IReadOnlyList<string> Events, string? Prefix, string? Suffix)
{
    /// <summary>True when an event named like <c>s3:ObjectCreated:Put</c> on <paramref name="key"/> is one this rule sends.</summary>
    public bool Matches(string eventName, string key)
    {
        if (Prefix is not null && !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        if (Suffix is not null && !key.EndsWith(Suffix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var pattern in Events)
        {
            if (pattern == eventName || (pattern.EndsWith(":*", StringComparison.Ordinal) && eventName.StartsWith(pattern[..^1], StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// The NotificationConfiguration document of Put/GetBucketNotificationConfiguration (reference 7.2). Element names
/// are the model's locationNames: CloudFunctionConfiguration/CloudFunction, QueueConfiguration/Queue.
/// </summary>
internal static class BucketNotificationConfiguration
{
    public const string ObjectCreatedPut = "s3:ObjectCreated:Put";
    public const string ObjectCreatedPost = "s3:ObjectCreated:Post";
    public const string ObjectCreatedCopy = "s3:ObjectCreated:Copy";
    public const string ObjectCreatedCompleteMultipartUpload = "s3:ObjectCreated:CompleteMultipartUpload";
    public const string ObjectRemovedDelete = "s3:ObjectRemoved:Delete";

    private const int MaxRules = 1_000;

    /// <summary>The event types a configuration may name; only these ever fire in Nimbus.</summary>
    public static readonly string[] SupportedEvents =
    [
        "s3:ObjectCreated:*", ObjectCreatedPut, ObjectCreatedPost, ObjectCreatedCopy, ObjectCreatedCompleteMultipartUpload,
        "s3:ObjectRemoved:*", ObjectRemovedDelete, "s3:ObjectRemoved:DeleteMarkerCreated",
    ];

    private static readonly (string Element, string Target, NotificationTargetKind Kind)[] Kinds =
    [
        ("CloudFunctionConfiguration", "CloudFunction", NotificationTargetKind.Lambda),
        ("LambdaFunctionConfiguration", "LambdaFunctionArn", NotificationTargetKind.Lambda),
        ("QueueConfiguration", "Queue", NotificationTargetKind.Queue),
    ];

    /// <summary>Reads and checks a configuration; the targets' existence is checked by the caller.</summary>
    public static (IReadOnlyList<NotificationRule>? Rules, S3Error? Error) Parse(XElement root)
    {
        if (root.Name.LocalName != "NotificationConfiguration")
        {
            return (null, S3Error.MalformedXml());
        }

        var rules = new List<NotificationRule>();
        foreach (var element in root.Elements())
        {
            var name = element.Name.LocalName;
            if (name is "TopicConfiguration")
            {
                return (null, S3Error.InvalidArgument("Nimbus has no SNS-compatible topics: TopicConfiguration is not supported; use CloudFunctionConfiguration or QueueConfiguration."));
            }

            if (name is "EventBridgeConfiguration")
            {
                return (null, S3Error.NotImplemented("EventBridgeConfiguration"));
            }

            var kind = Kinds.FirstOrDefault(k => k.Element == name);
            if (kind.Element is null)
            {
                return (null, S3Error.MalformedXml());
            }

            var target = S3Xml.Child(element, kind.Target)?.Trim();
            if (string.IsNullOrEmpty(target))
            {
                return (null, S3Error.InvalidArgument($"{name} needs a {kind.Target} ARN."));
            }

            var events = S3Xml.Children(element, "Event").Select(e => e.Value.Trim()).ToList();
            if (events.Count == 0)
            {
                return (null, S3Error.InvalidArgument($"{name} for {target} names no Event."));
            }

            var unsupported = events.FirstOrDefault(e => !SupportedEvents.Contains(e, StringComparer.Ordinal));
            if (unsupported is not null)
            {
                return (null, S3Error.InvalidArgument($"The event is not supported for notifications: {unsupported}. Supported: {string.Join(", ", SupportedEvents)}."));
            }

            string? prefix = null;
            string? suffix = null;
            var filter = S3Xml.Children(element, "Filter").FirstOrDefault();
            var keyFilter = filter is null ? null : S3Xml.Children(filter, "S3Key").FirstOrDefault();
            foreach (var rule in keyFilter is null ? [] : S3Xml.Children(keyFilter, "FilterRule"))
            {
                var ruleName = S3Xml.Child(rule, "Name")?.Trim().ToLowerInvariant();
                var value = S3Xml.Child(rule, "Value") ?? "";
                switch (ruleName)
                {
                    case "prefix" when prefix is null:
                        prefix = value;
                        break;
                    case "suffix" when suffix is null:
                        suffix = value;
                        break;
                    case "prefix" or "suffix":
                        return (null, S3Error.InvalidArgument($"Cannot specify more than one {ruleName} rule in a filter."));
                    default:
                        return (null, S3Error.InvalidArgument($"filter rule name must be either prefix or suffix, not '{ruleName}'."));
                }
            }

            var id = S3Xml.Child(element, "Id") is { Length: > 0 } given ? given : Guid.NewGuid().ToString();
            rules.Add(new NotificationRule(id, kind.Kind, target, events, prefix, suffix));
        }

        if (rules.Count > MaxRules)
        {
            return (null, S3Error.InvalidArgument($"A bucket can have at most {MaxRules} notification configurations."));
        }

        if (rules.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count() != rules.Count)
        {
            return (null, S3Error.InvalidArgument("Configuration Ids must be unique within a notification configuration."));
        }

        return (rules, null);
    }

    public static XElement ToXml(IReadOnlyList<NotificationRule> rules) =>
        S3Xml.E("NotificationConfiguration", rules.Select(rule =>
        {
            var (element, target, _) = Kinds.First(k => k.Kind == rule.Kind);
            return S3Xml.E(element,
                S3Xml.E("Id", rule.Id),
                S3Xml.E(target, rule.TargetArn),
                rule.Events.Select(e => S3Xml.E("Event", e)),
                rule.Prefix is null && rule.Suffix is null ? null : S3Xml.E("Filter", S3Xml.E("S3Key",
                    rule.Prefix is null ? null : S3Xml.E("FilterRule", S3Xml.E("Name", "Prefix"), S3Xml.E("Value", rule.Prefix)),
                    rule.Suffix is null ? null : S3Xml.E("FilterRule", S3Xml.E("Name", "Suffix"), S3Xml.E("Value", rule.Suffix)))));
        }));

    /// <summary>Reads back a configuration Nimbus stored (it was valid when stored).</summary>
    public static IReadOnlyList<NotificationRule> FromStored(string? xml) =>
        xml is null ? [] : Parse(XElement.Parse(xml)).Rules ?? [];
}
