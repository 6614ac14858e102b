using System.Collections;
using System.Globalization;

namespace Nimbus.Events;

/// <summary>
/// EventBridge's six-field cron: <c>minutes hours day-of-month month day-of-week year</c>, with <c>* ? , - /</c>,
/// <c>L</c> and <c>nW</c> in day-of-month, <c>L</c>, <c>nL</c> and <c>n#k</c> in day-of-week (1 = SUN … 7 = SAT),
/// month and day names, and years 1970-2199. Exactly one of the two day fields is <c>?</c>. Times are local to the
/// schedule's time zone: a local time that does not exist (spring forward) is skipped, an ambiguous one (fall back)
/// runs once, at its first occurrence, as EventBridge Scheduler documents.
/// </summary>
internal sealed class CronExpression
{
    public const int MinYear = 1970;
    public const int MaxYear = 2199;

    private static readonly string[] MonthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    private readonly int[] _minutes;
    private readonly int[] _hours;
    private readonly BitArray _months;
    private readonly BitArray _years;
    private readonly DayRule _days;

    private CronExpression(int[] minutes, int[] hours, BitArray months, BitArray years, DayRule days)
    {
        _minutes = minutes;
        _hours = hours;
        _months = months;
        _years = years;
        _days = days;
    }

    /// <summary>Parses the inside of <c>cron(...)</c>; the error says which field is wrong.</summary>
    public static CronExpression? TryParse(string text, out string? error)
    {
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 6)
        {
            error = $"a cron expression has six fields (minutes hours day-of-month month day-of-week year), this one has {fields.Length}";
            return null;
        }

        error = null;
        var minutes = ParseSet(fields[0], 0, 59, null, "minutes", ref error);
        var hours = ParseSet(fields[1], 0, 23, null, "hours", ref error);
        var months = ParseSet(fields[3], 1, 12, MonthNames, "month", ref error);
        var years = ParseSet(fields[5], MinYear, MaxYear, null, "year", ref error);
        var days = ParseDays(fields[2].ToUpperInvariant(), fields[4].ToUpperInvariant(), ref error);
        if (error is not null || minutes is null || hours is null || months is null || years is null || days is null)
        {
            return null;
        }

        return new CronExpression(Members(minutes, 0), Members(hours, 0), months, years, days);
    }

    /// <summary>The first run strictly after <paramref name="after"/>, or null when none is left before 2200.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after, TimeZoneInfo zone)
    {
        var date = TimeZoneInfo.ConvertTime(after, zone).DateTime.Date;
        while (date.Year <= MaxYear)
        {
            if (!_years[date.Year])
            {
                date = new DateTime(date.Year + 1, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
                continue;
            }

            if (!_months[date.Month])
            {
                date = new DateTime(date.Year, date.Month, 1, 0, 0, 0, DateTimeKind.Unspecified).AddMonths(1);
                continue;
            }

            if (_days.Matches(date))
            {
                foreach (var hour in _hours)
                {
                    foreach (var minute in _minutes)
                    {
                        var local = date.AddHours(hour).AddMinutes(minute);
                        if (zone.IsInvalidTime(local))
                        {
                            continue;
                        }

                        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
                        var at = new DateTimeOffset(local, offset);
                        if (at > after)
                        {
                            return at;
                        }
                    }
                }
            }

            date = date.AddDays(1);
        }

        return null;
    }

    private static int[] Members(BitArray set, int min)
    {
        var members = new List<int>();
        for (var i = min; i < set.Length; i++)
        {
            if (set[i])
            {
                members.Add(i);
            }
        }

        return [.. members];
    }

    private static DayRule? ParseDays(string dayOfMonth, string dayOfWeek, ref string? error)
    {
        if ((dayOfMonth == "?") == (dayOfWeek == "?"))
        {
            error ??= "exactly one of day-of-month and day-of-week must be ?";
            return null;
        }

        if (dayOfWeek == "?")
        {
            if (dayOfMonth == "L")
            {
                return new DayRule.LastDayOfMonth();
            }

            if (dayOfMonth.EndsWith('W'))
            {
                return int.TryParse(dayOfMonth.AsSpan(0, dayOfMonth.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var day) && day is >= 1 and <= 31
                    ? new DayRule.NearestWeekday(day)
                    : Fail<DayRule>($"day-of-month '{dayOfMonth}' is not a day 1-31 followed by W", ref error);
            }

            return ParseSet(dayOfMonth, 1, 31, null, "day-of-month", ref error) is { } days ? new DayRule.DaysOfMonth(days) : null;
        }

        if (dayOfWeek == "L")
        {
            return new DayRule.DaysOfWeek(Single(7, 8));
        }

        if (dayOfWeek.Length > 1 && dayOfWeek.EndsWith('L'))
        {
            return ParseDay(dayOfWeek[..^1]) is { } last ? new DayRule.LastWeekdayOfMonth(last) : Fail<DayRule>($"day-of-week '{dayOfWeek}' is not a day 1-7 (or SUN-SAT) followed by L", ref error);
        }

        if (dayOfWeek.Split('#') is [var dayText, var nthText])
        {
            return ParseDay(dayText) is { } day && int.TryParse(nthText, NumberStyles.None, CultureInfo.InvariantCulture, out var nth) && nth is >= 1 and <= 5
                ? new DayRule.NthWeekdayOfMonth(day, nth)
                : Fail<DayRule>($"day-of-week '{dayOfWeek}' is not a day 1-7 (or SUN-SAT), # and a week 1-5", ref error);
        }

        return ParseSet(dayOfWeek, 1, 7, DayNames, "day-of-week", ref error) is { } weekdays ? new DayRule.DaysOfWeek(weekdays) : null;
    }

    private static int? ParseDay(string text) =>
        ParseValue(text, 1, 7, DayNames) is { } day ? day : null;

    private static BitArray Single(int value, int length)
    {
        var set = new BitArray(length);
        set[value] = true;
        return set;
    }

    private static T? Fail<T>(string message, ref string? error)
        where T : class
    {
        error ??= message;
        return null;
    }

    /// <summary>A field of items separated by commas: <c>*</c>, <c>v</c>, <c>a-b</c> (wrapping when a &gt; b), each optionally <c>/step</c>.</summary>
    private static BitArray? ParseSet(string field, int min, int max, string[]? names, string what, ref string? error)
    {
        var set = new BitArray(max + 1);
        foreach (var item in field.ToUpperInvariant().Split(','))
        {
            var slash = item.Split('/');
            if (slash.Length > 2)
            {
                return Fail<BitArray>($"{what} '{field}' has more than one /", ref error);
            }

            var step = 1;
            if (slash.Length == 2 && (!int.TryParse(slash[1], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1 || step > max - min + 1))
            {
                return Fail<BitArray>($"{what} '{field}' has an invalid step '{slash[1]}'", ref error);
            }

            int from, to;
            if (slash[0] == "*")
            {
                (from, to) = (min, max);
            }
            else if (slash[0].Split('-') is [var low, var high])
            {
                if (ParseValue(low, min, max, names) is not { } a || ParseValue(high, min, max, names) is not { } b)
                {
                    return Fail<BitArray>($"{what} '{field}' has a range outside {min}-{max}", ref error);
                }

                (from, to) = (a, b);
            }
            else if (ParseValue(slash[0], min, max, names) is { } value)
            {
                // "5/15" means from 5 to the end in steps of 15.
                (from, to) = (value, slash.Length == 2 ? max : value);
            }
            else
            {
                return Fail<BitArray>($"{what} '{field}' is not a value {min}-{max}, a range, a list or *", ref error);
            }

            var span = to >= from ? to - from : to + (max - min + 1) - from;
            for (var offset = 0; offset <= span; offset += step)
            {
                var member = from + offset;
                set[member > max ? member - (max - min + 1) : member] = true;
            }
        }

        return set;
    }

    private static int? ParseValue(string text, int min, int max, string[]? names)
    {
        if (names is not null && Array.IndexOf(names, text) is >= 0 and var index)
        {
            return index + min;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value : null;
    }

    /// <summary>Which days a cron runs on: from day-of-month or from day-of-week (the other one is <c>?</c>).</summary>
    private abstract record DayRule
    {
        public abstract bool Matches(DateTime date);

        public sealed record DaysOfMonth(BitArray Days) : DayRule
        {
            public override bool Matches(DateTime date) => Days[date.Day];
        }

        public sealed record LastDayOfMonth : DayRule
        {
            public override bool Matches(DateTime date) => date.Day == DateTime.DaysInMonth(date.Year, date.Month);
        }

        /// <summary><c>nW</c>: the weekday nearest to day n, in the same month.</summary>
        public sealed record NearestWeekday(int Day) : DayRule
        {
            public override bool Matches(DateTime date)
            {
                var last = DateTime.DaysInMonth(date.Year, date.Month);
                var target = new DateTime(date.Year, date.Month, Math.Min(Day, last), 0, 0, 0, DateTimeKind.Unspecified);
                target = target.DayOfWeek switch
                {
                    DayOfWeek.Saturday => target.Day == 1 ? target.AddDays(2) : target.AddDays(-1),
                    DayOfWeek.Sunday => target.Day == last ? target.AddDays(-2) : target.AddDays(1),
                    _ => target,
                };
                return date.Day == target.Day;
            }
        }

        /// <summary>Days 1 (SUN) to 7 (SAT).</summary>
        public sealed record DaysOfWeek(BitArray Days) : DayRule
        {
            public override bool Matches(DateTime date) => Days[(int)date.DayOfWeek + 1];
        }

        public sealed record LastWeekdayOfMonth(int Day) : DayRule
        {
            public override bool Matches(DateTime date) =>
                (int)date.DayOfWeek + 1 == Day && date.Day + 7 > DateTime.DaysInMonth(date.Year, date.Month);
        }

        public sealed record NthWeekdayOfMonth(int Day, int Nth) : DayRule
        {
            public override bool Matches(DateTime date) => (int)date.DayOfWeek + 1 == Day && ((date.Day - 1) / 7) + 1 == Nth;
        }
    }
}
