using System.Globalization;
using System.Text.RegularExpressions;

namespace Nimbus.Events;

/// <summary>A parsed <c>rate(...)</c>, <c>cron(...)</c> or <c>at(...)</c> schedule expression.</summary>
internal abstract partial record ScheduleExpression
{
    /// <summary>True for <c>at(...)</c>: the schedule runs once.</summary>
    public virtual bool IsOneTime => false;

    /// <summary>
    /// The first run strictly after <paramref name="after"/>, or null when there is none. <paramref name="firstRate"/>
    /// is where a rate schedule's runs start (its start date, or its creation plus one period).
    /// </summary>
    public abstract DateTimeOffset? NextAfter(DateTimeOffset after, TimeZoneInfo zone, DateTimeOffset firstRate);

    public static ScheduleExpression? TryParse(string text, out string? error)
    {
        error = null;
        if (RatePattern().Match(text) is { Success: true } rate)
        {
            if (!int.TryParse(rate.Groups["value"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
            {
                error = "the rate value must be a positive whole number";
                return null;
            }

            var period = rate.Groups["unit"].Value switch
            {
                "minute" or "minutes" => TimeSpan.FromMinutes(value),
                "hour" or "hours" => TimeSpan.FromHours(value),
                _ => TimeSpan.FromDays(value),
            };
            return new Rate(period);
        }

        if (CronPattern().Match(text) is { Success: true } cron)
        {
            return CronExpression.TryParse(cron.Groups["fields"].Value, out error) is { } parsed ? new Cron(parsed) : null;
        }

        if (AtPattern().Match(text) is { Success: true } at)
        {
            if (DateTime.TryParseExact(at.Groups["time"].Value, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
            {
                return new At(local);
            }

            error = "the time of at(...) must be a valid yyyy-mm-ddThh:mm:ss";
            return null;
        }

        error = "use rate(value unit), cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)";
        return null;
    }

    [GeneratedRegex(@"^rate\((?<value>\d+) (?<unit>minutes?|hours?|days?)\)$", RegexOptions.CultureInvariant)]
    private static partial Regex RatePattern();

    [GeneratedRegex(@"^cron\((?<fields>[^()]+)\)$", RegexOptions.CultureInvariant)]
    private static partial Regex CronPattern();

    [GeneratedRegex(@"^at\((?<time>[0-9T:\-]+)\)$", RegexOptions.CultureInvariant)]
    private static partial Regex AtPattern();

    /// <summary>Every <see cref="Period"/> from the first run on; time zones and daylight saving time do not apply.</summary>
    public sealed record Rate(TimeSpan Period) : ScheduleExpression
    {
        public override DateTimeOffset? NextAfter(DateTimeOffset after, TimeZoneInfo zone, DateTimeOffset firstRate)
        {
            if (after < firstRate)
            {
                return firstRate;
            }

            var periods = ((after - firstRate).Ticks / Period.Ticks) + 1;
            return firstRate + TimeSpan.FromTicks(Period.Ticks * periods);
        }
    }

    public sealed record Cron(CronExpression Expression) : ScheduleExpression
    {
        public override DateTimeOffset? NextAfter(DateTimeOffset after, TimeZoneInfo zone, DateTimeOffset firstRate) =>
            Expression.NextAfter(after, zone);
    }

    /// <summary>One run at a local time of the schedule's time zone (a time skipped by daylight saving time runs an hour later).</summary>
    public sealed record At(DateTime Local) : ScheduleExpression
    {
        public override bool IsOneTime => true;

        public DateTimeOffset In(TimeZoneInfo zone)
        {
            var local = zone.IsInvalidTime(Local) ? Local.AddHours(1) : Local;
            var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
            return new DateTimeOffset(local, offset);
        }

        public override DateTimeOffset? NextAfter(DateTimeOffset after, TimeZoneInfo zone, DateTimeOffset firstRate) =>
            In(zone) is var at && at > after ? at : null;
    }
}
