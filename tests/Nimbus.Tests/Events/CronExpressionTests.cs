using System.Globalization;
using Nimbus.Events;

namespace Nimbus.Tests.Events;

/// <summary>Next-run computation of cron, rate and at expressions, in UTC and across daylight saving time.</summary>
public sealed class CronExpressionTests
{
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    [Theory]
    [InlineData("0 12 * * ? *", "2026-03-10T11:00:00Z", "2026-03-10T12:00:00Z")]
    [InlineData("0 12 * * ? *", "2026-03-10T12:00:00Z", "2026-03-11T12:00:00Z")]
    [InlineData("0/15 * * * ? *", "2026-03-10T10:07:00Z", "2026-03-10T10:15:00Z")]
    [InlineData("5,35 10 * * ? *", "2026-03-10T10:06:00Z", "2026-03-10T10:35:00Z")]
    [InlineData("0 8-10/2 * * ? *", "2026-03-10T08:00:00Z", "2026-03-10T10:00:00Z")]
    [InlineData("0 9 ? * MON-FRI *", "2026-03-13T09:00:00Z", "2026-03-16T09:00:00Z")]
    [InlineData("0 9 ? * 2-6 *", "2026-03-13T09:00:00Z", "2026-03-16T09:00:00Z")]
    [InlineData("0 9 ? * FRI-MON *", "2026-03-10T00:00:00Z", "2026-03-13T09:00:00Z")]
    [InlineData("0 0 1 JAN,JUL ? *", "2026-03-10T00:00:00Z", "2026-07-01T00:00:00Z")]
    [InlineData("0 0 L * ? *", "2026-02-01T00:00:00Z", "2026-02-28T00:00:00Z")]
    [InlineData("0 0 L * ? *", "2028-02-01T00:00:00Z", "2028-02-29T00:00:00Z")]
    [InlineData("0 0 15W * ? *", "2026-08-01T00:00:00Z", "2026-08-14T00:00:00Z")]
    [InlineData("0 0 16W * ? *", "2026-08-01T00:00:00Z", "2026-08-17T00:00:00Z")]
    [InlineData("0 0 1W * ? *", "2026-08-01T00:00:00Z", "2026-08-03T00:00:00Z")]
    [InlineData("0 0 ? * 6L *", "2026-03-01T00:00:00Z", "2026-03-27T00:00:00Z")]
    [InlineData("0 0 ? * L *", "2026-03-01T00:00:00Z", "2026-03-07T00:00:00Z")]
    [InlineData("0 0 ? * 3#2 *", "2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z")]
    [InlineData("0 0 ? * MON#1 *", "2026-03-03T00:00:00Z", "2026-04-06T00:00:00Z")]
    [InlineData("30 6 1 1 ? 2028-2030", "2026-03-01T00:00:00Z", "2028-01-01T06:30:00Z")]
    [InlineData("0 0 29 2 ? *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z")]
    public void Cron_next_run_in_UTC(string fields, string after, string expected)
    {
        var cron = Parse(fields);
        Assert.Equal(Time(expected), cron.NextAfter(Time(after), TimeZoneInfo.Utc));
    }

    [Fact]
    public void Cron_with_a_past_year_has_no_run_left()
    {
        Assert.Null(Parse("0 0 1 1 ? 2025").NextAfter(Time("2026-01-01T00:00:00Z"), TimeZoneInfo.Utc));
    }

    [Fact]
    public void Cron_runs_at_local_time_and_skips_a_time_that_daylight_saving_time_skips()
    {
        // 2026-03-08 02:30 does not exist in New York (02:00 EST -> 03:00 EDT): that day's run is skipped.
        var cron = Parse("30 2 * * ? *");
        Assert.Equal(Time("2026-03-07T07:30:00Z"), cron.NextAfter(Time("2026-03-07T00:00:00Z"), NewYork));
        Assert.Equal(Time("2026-03-09T06:30:00Z"), cron.NextAfter(Time("2026-03-07T07:30:00Z"), NewYork));
    }

    [Fact]
    public void Cron_runs_once_in_an_hour_that_daylight_saving_time_repeats()
    {
        // 2026-11-01 01:30 happens twice in New York (EDT, then EST): one run, at the first.
        var cron = Parse("30 1 * * ? *");
        var first = cron.NextAfter(Time("2026-11-01T00:00:00Z"), NewYork);
        Assert.Equal(Time("2026-11-01T05:30:00Z"), first);
        Assert.Equal(Time("2026-11-02T06:30:00Z"), cron.NextAfter(first!.Value, NewYork));

        // Hourly: 01:00 EDT runs, 01:00 EST does not, 02:00 EST does.
        var hourly = Parse("0 * * * ? *");
        var one = hourly.NextAfter(Time("2026-11-01T04:30:00Z"), NewYork);
        Assert.Equal(Time("2026-11-01T05:00:00Z"), one);
        Assert.Equal(Time("2026-11-01T07:00:00Z"), hourly.NextAfter(one!.Value, NewYork));
    }

    [Fact]
    public void Cron_keeps_local_time_across_a_daylight_saving_change()
    {
        var cron = Parse("0 9 * * ? *");
        Assert.Equal(Time("2026-03-28T08:00:00Z"), cron.NextAfter(Time("2026-03-28T00:00:00Z"), Berlin));
        Assert.Equal(Time("2026-03-29T07:00:00Z"), cron.NextAfter(Time("2026-03-28T08:00:00Z"), Berlin));
    }

    [Theory]
    [InlineData("0 12 * * *", "six fields")]
    [InlineData("0 12 * * * *", "exactly one of day-of-month and day-of-week")]
    [InlineData("0 12 ? * ? *", "exactly one of day-of-month and day-of-week")]
    [InlineData("60 12 * * ? *", "minutes")]
    [InlineData("0 24 * * ? *", "hours")]
    [InlineData("0 0 32 * ? *", "day-of-month")]
    [InlineData("0 0 * 13 ? *", "month")]
    [InlineData("0 0 ? * 8 *", "day-of-week")]
    [InlineData("0 0 ? * 2#6 *", "day-of-week")]
    [InlineData("0 0 * * ? 1969", "year")]
    [InlineData("0 0 * * ? 2200", "year")]
    [InlineData("0/0 0 * * ? *", "step")]
    [InlineData("0 0 * FOO ? *", "month")]
    public void Cron_rejects_bad_fields_and_says_which(string fields, string mentions)
    {
        Assert.Null(CronExpression.TryParse(fields, out var error));
        Assert.Contains(mentions, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rate(1 minute)", 60)]
    [InlineData("rate(5 minutes)", 300)]
    [InlineData("rate(1 hour)", 3600)]
    [InlineData("rate(2 days)", 172_800)]
    public void Rate_runs_every_period_from_its_first_run(string text, int seconds)
    {
        var rate = Assert.IsType<ScheduleExpression.Rate>(ScheduleExpression.TryParse(text, out _));
        var first = Time("2026-03-08T06:59:30Z");
        Assert.Equal(first, rate.NextAfter(first.AddSeconds(-1), NewYork, first));
        Assert.Equal(first.AddSeconds(seconds), rate.NextAfter(first, NewYork, first));
        Assert.Equal(first.AddSeconds(3 * seconds), rate.NextAfter(first.AddSeconds((2 * seconds) + 1), NewYork, first));
    }

    [Fact]
    public void At_runs_once_at_local_time_and_a_skipped_local_time_runs_an_hour_later()
    {
        var at = Assert.IsType<ScheduleExpression.At>(ScheduleExpression.TryParse("at(2026-07-01T09:30:00)", out _));
        Assert.True(at.IsOneTime);
        Assert.Equal(Time("2026-07-01T13:30:00Z"), at.NextAfter(Time("2026-07-01T00:00:00Z"), NewYork, default));
        Assert.Null(at.NextAfter(Time("2026-07-01T13:30:00Z"), NewYork, default));

        var skipped = Assert.IsType<ScheduleExpression.At>(ScheduleExpression.TryParse("at(2026-03-08T02:30:00)", out _));
        Assert.Equal(Time("2026-03-08T07:30:00Z"), skipped.In(NewYork));
    }

    [Theory]
    [InlineData("rate(0 minutes)")]
    [InlineData("rate(5 weeks)")]
    [InlineData("rate(five minutes)")]
    [InlineData("at(2026-02-30T00:00:00)")]
    [InlineData("at(2026-01-01 00:00:00)")]
    [InlineData("every 5 minutes")]
    [InlineData("cron(0 0 * * ?)")]
    public void Expressions_that_are_not_valid_are_refused(string text)
    {
        Assert.Null(ScheduleExpression.TryParse(text, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    private static CronExpression Parse(string fields) =>
        CronExpression.TryParse(fields, out var error) ?? throw new InvalidOperationException(error);

    private static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
}
