using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Nimbus.Metrics;

/// <summary>
/// GET /nimbus/usage?from=YYYY-MM-DD&amp;to=YYYY-MM-DD[&amp;function=NAME][&amp;format=text]: requests, billed
/// duration, GB-seconds and the estimated cost per function per UTC day (both dates included), priced from the
/// configured table. <c>./nimbus usage</c> prints the text form.
/// </summary>
internal sealed class UsageReport(MeteringStore store, IOptions<MetricsOptions> options, TimeProvider time)
{
    public const string Path = "/nimbus/usage";

    /// <summary>Longest range one report covers.</summary>
    public const int MaxDays = 366;

    private const decimal MbMsPerGbSecond = 1024m * 1000m;

    internal sealed record Row(string Date, string FunctionName, long Requests, long Errors, long Throttles, long BilledMs, decimal GbSeconds, decimal RequestCost, decimal ComputeCost)
    {
        public decimal Cost => RequestCost + ComputeCost;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (!TryDate(query["from"], today.AddDays(-6), out var from) || !TryDate(query["to"], today, out var to))
        {
            await WriteErrorAsync(context, "from and to must be dates such as 2026-12-03 (UTC days, both included).").ConfigureAwait(false);
            return;
        }

        if (from > to || to.DayNumber - from.DayNumber >= MaxDays)
        {
            await WriteErrorAsync(context, $"from must not be after to, and a report covers at most {MaxDays} days.").ConfigureAwait(false);
            return;
        }

        var function = query["function"].ToString() is { Length: > 0 } name ? name : null;
        var rows = await BuildAsync(from, to, function, context.RequestAborted).ConfigureAwait(false);
        if (query["format"] == "text")
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(RenderText(from, to, rows)).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(RenderJson(from, to, rows).ToJsonString()).ConfigureAwait(false);
    }

    public async Task<List<Row>> BuildAsync(DateOnly from, DateOnly to, string? function, CancellationToken cancellationToken)
    {
        var start = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds();
        var end = new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds();
        var rollups = await store.ReadRollupsAsync(start, end, new SeriesFilter(function, null, null), cancellationToken).ConfigureAwait(false);
        var prices = options.Value;
        return rollups
            .GroupBy(r => (Date: DateTimeOffset.FromUnixTimeSeconds(r.Minute).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), r.FunctionName))
            .OrderBy(g => g.Key.Date, StringComparer.Ordinal).ThenBy(g => g.Key.FunctionName, StringComparer.Ordinal)
            .Select(g =>
            {
                var requests = g.Sum(r => r.Invocations);
                var gbSeconds = g.Sum(r => r.MbMs) / MbMsPerGbSecond;
                return new Row(g.Key.Date, g.Key.FunctionName, requests, g.Sum(r => r.Errors), g.Sum(r => r.Throttles), g.Sum(r => r.BilledMs), gbSeconds,
                    requests * prices.PricePerMillionRequests / 1_000_000m, gbSeconds * prices.PricePerGbSecond);
            })
            .ToList();
    }

    private JsonObject RenderJson(DateOnly from, DateOnly to, List<Row> rows)
    {
        var days = new JsonArray();
        foreach (var row in rows)
        {
            days.Add(new JsonObject
            {
                ["Date"] = row.Date,
                ["FunctionName"] = row.FunctionName,
                ["Requests"] = row.Requests,
                ["Errors"] = row.Errors,
                ["Throttles"] = row.Throttles,
                ["BilledDurationMs"] = row.BilledMs,
                ["GbSeconds"] = Round(row.GbSeconds),
                ["RequestCost"] = Round(row.RequestCost),
                ["ComputeCost"] = Round(row.ComputeCost),
                ["Cost"] = Round(row.Cost),
            });
        }

        return new JsonObject
        {
            ["From"] = from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["To"] = to.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["Currency"] = "USD",
            ["Prices"] = new JsonObject
            {
                ["PerMillionRequests"] = options.Value.PricePerMillionRequests,
                ["PerGbSecond"] = options.Value.PricePerGbSecond,
            },
            ["Usage"] = days,
            ["Total"] = new JsonObject
            {
                ["Requests"] = rows.Sum(r => r.Requests),
                ["BilledDurationMs"] = rows.Sum(r => r.BilledMs),
                ["GbSeconds"] = Round(rows.Sum(r => r.GbSeconds)),
                ["Cost"] = Round(rows.Sum(r => r.Cost)),
            },
        };
    }

    private string RenderText(DateOnly from, DateOnly to, List<Row> rows)
    {
        var text = new StringBuilder();
        var prices = options.Value;
        text.Append(CultureInfo.InvariantCulture, $"Usage {from:yyyy-MM-dd} to {to:yyyy-MM-dd} (UTC), priced at ${prices.PricePerMillionRequests} per 1M requests and ${prices.PricePerGbSecond} per GB-second\n");
        var width = Math.Max("FUNCTION".Length, rows.Count == 0 ? 0 : rows.Max(r => r.FunctionName.Length));
        text.Append(CultureInfo.InvariantCulture, $"{"DATE",-10}  {"FUNCTION".PadRight(width)}  {"REQUESTS",10}  {"BILLED MS",12}  {"GB-SECONDS",14}  {"COST (USD)",12}\n");
        foreach (var row in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{row.Date,-10}  {row.FunctionName.PadRight(width)}  {row.Requests,10}  {row.BilledMs,12}  {row.GbSeconds,14:0.000000}  {row.Cost,12:0.000000}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"{"TOTAL",-10}  {"".PadRight(width)}  {rows.Sum(r => r.Requests),10}  {rows.Sum(r => r.BilledMs),12}  {rows.Sum(r => r.GbSeconds),14:0.000000}  {rows.Sum(r => r.Cost),12:0.000000}\n");
        return text.ToString();
    }

    private static decimal Round(decimal value) => Math.Round(value, 10, MidpointRounding.AwayFromZero);

    private static bool TryDate(Microsoft.Extensions.Primitives.StringValues value, DateOnly fallback, out DateOnly date)
    {
        if (value.Count == 0 || value.ToString().Length == 0)
        {
            date = fallback;
            return true;
        }

        return DateOnly.TryParseExact(value.ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);
    }

    private static Task WriteErrorAsync(HttpContext context, string message)
    {
        context.Response.StatusCode = 400;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(new JsonObject { ["__type"] = "ValidationException", ["message"] = message }.ToJsonString());
    }
}
