using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Nimbus.Events;
using Nimbus.Security;

namespace Nimbus.Http;

/// <summary>
/// EventBridge Scheduler (service <c>scheduler</c>, API 2021-06-30, rest-json): schedules on <c>/schedules[/{Name}]</c>
/// and schedule groups on <c>/schedule-groups[/{Name}]</c>. Timestamps are epoch seconds, errors carry
/// <c>x-amzn-ErrorType</c> and <c>{"Message"}</c>.
/// </summary>
internal static class SchedulerApi
{
    public const string SchedulesPath = "/schedules";
    public const string GroupsPath = "/schedule-groups";
    public const string TagsPath = "/tags";

    /// <summary>Largest request body: a schedule with a 1 MB input, JSON-escaped.</summary>
    private const long MaxRequestBytes = 4L * 1024 * 1024;

    /// <summary>Routes the Scheduler's paths (one predicate) to <see cref="HandleAsync"/>.</summary>
    public static IApplicationBuilder MapSchedulerApi(this IApplicationBuilder app) =>
        app.MapWhen(IsSchedulerRequest, scheduler => scheduler.Run(HandleAsync));

    public static bool IsSchedulerRequest(HttpContext context) =>
        context.Request.Path.StartsWithSegments(SchedulesPath, StringComparison.Ordinal)
        || context.Request.Path.StartsWithSegments(GroupsPath, StringComparison.Ordinal)
        || TagResourceArn(context) is not null;

    /// <summary>
    /// The resource ARN of a Scheduler tagging request (<c>/tags/{ResourceArn}</c>, the ARN URL-encoded): only a
    /// Scheduler ARN makes it one, so S3's path-style <c>/tags/...</c> (a bucket named "tags") stays S3's.
    /// </summary>
    private static string? TagResourceArn(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments(TagsPath, StringComparison.Ordinal, out var rest) || !rest.HasValue)
        {
            return null;
        }

        var arn = Uri.UnescapeDataString(rest.Value!.TrimStart('/'));
        return arn.StartsWith("arn:", StringComparison.Ordinal) && arn.Contains(":scheduler:", StringComparison.Ordinal) ? arn : null;
    }

    public static async Task HandleAsync(HttpContext context)
    {
        AwsRequestId.Get(context);
        var service = context.RequestServices.GetRequiredService<ScheduleService>();
        var path = context.Request.Path.Value ?? "";
        var method = context.Request.Method;
        var query = context.Request.Query;
        var cancellation = context.RequestAborted;
        if (TagResourceArn(context) is { } resourceArn)
        {
            // Tag routes act on the ARN in their path: they run only once the signer may do that to it.
            if (SchedulerActions.TagActionOf(method) is { } tagAction
                && !await AuthorizedAsync(context, tagAction, resourceArn).ConfigureAwait(false))
            {
                return;
            }

            await HandleTagsAsync(context, service, resourceArn).ConfigureAwait(false);
            return;
        }

        var isGroups = path.StartsWith(GroupsPath, StringComparison.Ordinal);
        var rest = path[(isGroups ? GroupsPath.Length : SchedulesPath.Length)..].Trim('/');
        var name = Uri.UnescapeDataString(rest);
        if (name.Contains('/', StringComparison.Ordinal))
        {
            await WriteErrorAsync(context, SchedulerError.NotFound($"No Scheduler operation at {method} {path}.")).ConfigureAwait(false);
            return;
        }

        // Creating or updating a schedule names its group in the body: checked once the body is read.
        var action = SchedulerActions.ActionOf(isGroups, name.Length > 0, method);
        var writesSchedule = action is SchedulerActions.CreateSchedule or SchedulerActions.UpdateSchedule;
        if (action is not null && !writesSchedule)
        {
            var resource = name.Length == 0 ? SchedulerActions.AnyResource
                : isGroups ? service.GroupArn(name)
                : service.ScheduleArn(Query(query, "groupName") ?? ScheduleService.DefaultGroup, name);
            if (!await AuthorizedAsync(context, action, resource).ConfigureAwait(false))
            {
                return;
            }
        }

        switch (isGroups, name.Length > 0, method)
        {
            case (false, true, "POST"):
            case (false, true, "PUT"):
                if (await ReadBodyAsync(context).ConfigureAwait(false) is { } body)
                {
                    using (body)
                    {
                        var scheduleGroup = body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("GroupName", out var groupName)
                            && groupName.ValueKind == JsonValueKind.String ? groupName.GetString()! : ScheduleService.DefaultGroup;
                        if (!await AuthorizedAsync(context, action!, service.ScheduleArn(scheduleGroup, name)).ConfigureAwait(false))
                        {
                            return;
                        }

                        // Naming a role hands it to the Scheduler: the caller must be allowed iam:PassRole on it.
                        if (PassRoleActions.ScheduleTargetRole(body.RootElement) is { } role
                            && !await PassRoleAllowedAsync(context, role).ConfigureAwait(false))
                        {
                            return;
                        }

                        var put = method == "POST"
                            ? await service.CreateAsync(name, body.RootElement, cancellation).ConfigureAwait(false)
                            : await service.UpdateAsync(name, body.RootElement, cancellation).ConfigureAwait(false);
                        await WriteAsync(context, put, (writer, schedule) => writer.WriteString("ScheduleArn", service.ScheduleArn(schedule.GroupName, schedule.Name))).ConfigureAwait(false);
                    }
                }

                return;

            case (false, true, "GET"):
                var got = await service.GetAsync(name, Query(query, "groupName"), cancellation).ConfigureAwait(false);
                await WriteAsync(context, got, (writer, schedule) => WriteSchedule(writer, service, schedule)).ConfigureAwait(false);
                return;

            case (false, true, "DELETE"):
                await WriteEmptyAsync(context, await service.DeleteAsync(name, Query(query, "groupName"), cancellation).ConfigureAwait(false)).ConfigureAwait(false);
                return;

            case (false, false, "GET"):
                int? maxResults = null;
                if (Query(query, "MaxResults") is { } max)
                {
                    if (!int.TryParse(max, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
                    {
                        await WriteErrorAsync(context, SchedulerError.Constraint(max, "maxResults", "Member must be an integer")).ConfigureAwait(false);
                        return;
                    }

                    maxResults = parsed;
                }

                var list = await service.ListAsync(Query(query, "ScheduleGroup"), Query(query, "NamePrefix"), Query(query, "State"), maxResults, Query(query, "NextToken"), cancellation).ConfigureAwait(false);
                await WriteAsync(context, list, (writer, page) =>
                {
                    if (page.NextToken is { } token)
                    {
                        writer.WriteString("NextToken", token);
                    }

                    writer.WriteStartArray("Schedules");
                    foreach (var schedule in page.Schedules)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("Arn", service.ScheduleArn(schedule.GroupName, schedule.Name));
                        WriteDate(writer, "CreationDate", schedule.CreationDate);
                        writer.WriteString("GroupName", schedule.GroupName);
                        WriteDate(writer, "LastModificationDate", schedule.LastModificationDate);
                        writer.WriteString("Name", schedule.Name);
                        writer.WriteString("State", schedule.State);
                        writer.WriteStartObject("Target");
                        writer.WriteString("Arn", schedule.Target.Arn);
                        writer.WriteEndObject();
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                }).ConfigureAwait(false);
                return;

            case (true, true, "POST"):
                if (await ReadBodyAsync(context, allowEmpty: true).ConfigureAwait(false) is { } groupBody)
                {
                    using (groupBody)
                    {
                        var created = await service.CreateGroupAsync(name, groupBody.RootElement, cancellation).ConfigureAwait(false);
                        await WriteAsync(context, created, (writer, group) => writer.WriteString("ScheduleGroupArn", service.GroupArn(group.Name))).ConfigureAwait(false);
                    }
                }

                return;

            case (true, true, "GET"):
                var group = await service.GetGroupAsync(name, cancellation).ConfigureAwait(false);
                await WriteAsync(context, group, (writer, g) => WriteGroup(writer, service, g)).ConfigureAwait(false);
                return;

            case (true, true, "DELETE"):
                await WriteEmptyAsync(context, await service.DeleteGroupAsync(name, cancellation).ConfigureAwait(false)).ConfigureAwait(false);
                return;

            case (true, false, "GET"):
                var prefix = Query(query, "NamePrefix");
                var groups = (await service.ListGroupsAsync(cancellation).ConfigureAwait(false))
                    .Where(g => prefix is null || g.Name.StartsWith(prefix, StringComparison.Ordinal))
                    .ToList();
                await WriteAsync<IReadOnlyList<ScheduleGroupRecord>>(context, groups, (writer, all) =>
                {
                    writer.WriteStartArray("ScheduleGroups");
                    foreach (var g in all)
                    {
                        writer.WriteStartObject();
                        WriteGroup(writer, service, g);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                }).ConfigureAwait(false);
                return;

            default:
                await WriteErrorAsync(context, SchedulerError.NotFound($"No Scheduler operation at {method} {path}.")).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>True when the signer may perform <paramref name="action"/> on <paramref name="resourceArn"/>; else answers AccessDeniedException.</summary>
    public static async Task<bool> AuthorizedAsync(HttpContext context, string action, string resourceArn)
    {
        var decision = context.RequestServices.GetRequiredService<ServiceAuthorization>().Check(context, action, resourceArn);
        if (!decision.Allowed)
        {
            await AwsAuthErrors.WriteAsync(context, AwsServices.Scheduler, decision.ToFailure()).ConfigureAwait(false);
        }

        return decision.Allowed;
    }

    /// <summary>True when the signer may pass <paramref name="roleArn"/> to the Scheduler; else answers AccessDeniedException.</summary>
    private static async Task<bool> PassRoleAllowedAsync(HttpContext context, string roleArn)
    {
        var decision = context.RequestServices.GetRequiredService<ServiceAuthorization>().CheckPassRole(context, roleArn, PassRoleActions.SchedulerService);
        if (!decision.Allowed)
        {
            await AwsAuthErrors.WriteAsync(context, AwsServices.Scheduler, decision.ToFailure()).ConfigureAwait(false);
        }

        return decision.Allowed;
    }

    /// <summary>TagResource (POST), UntagResource (DELETE, <c>TagKeys</c> repeated in the query), ListTagsForResource (GET).</summary>
    private static async Task HandleTagsAsync(HttpContext context, ScheduleService service, string arn)
    {
        var cancellation = context.RequestAborted;
        switch (context.Request.Method)
        {
            case "POST":
                if (await ReadBodyAsync(context).ConfigureAwait(false) is { } body)
                {
                    using (body)
                    {
                        await WriteEmptyAsync(context, await service.TagAsync(arn, body.RootElement, cancellation).ConfigureAwait(false)).ConfigureAwait(false);
                    }
                }

                return;

            case "DELETE":
                var keys = context.Request.Query.TryGetValue("TagKeys", out var values) ? values.Where(v => v is not null).Select(v => v!).ToList() : [];
                await WriteEmptyAsync(context, await service.UntagAsync(arn, keys, cancellation).ConfigureAwait(false)).ConfigureAwait(false);
                return;

            case "GET":
                var tags = await service.ListTagsAsync(arn, cancellation).ConfigureAwait(false);
                await WriteAsync(context, tags, (writer, list) =>
                {
                    writer.WriteStartArray("Tags");
                    foreach (var (key, value) in list)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("Key", key);
                        writer.WriteString("Value", value);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                }).ConfigureAwait(false);
                return;

            default:
                await WriteErrorAsync(context, SchedulerError.NotFound($"No Scheduler operation at {context.Request.Method} {context.Request.Path}.")).ConfigureAwait(false);
                return;
        }
    }

    private static void WriteSchedule(Utf8JsonWriter writer, ScheduleService service, ScheduleRecord schedule)
    {
        writer.WriteString("ActionAfterCompletion", schedule.ActionAfterCompletion);
        writer.WriteString("Arn", service.ScheduleArn(schedule.GroupName, schedule.Name));
        WriteDate(writer, "CreationDate", schedule.CreationDate);
        if (schedule.Description is { } description)
        {
            writer.WriteString("Description", description);
        }

        if (schedule.EndDate is { } end)
        {
            WriteDate(writer, "EndDate", end);
        }

        writer.WriteStartObject("FlexibleTimeWindow");
        if (schedule.MaximumWindowInMinutes is { } window)
        {
            writer.WriteNumber("MaximumWindowInMinutes", window);
        }

        writer.WriteString("Mode", schedule.FlexibleMode);
        writer.WriteEndObject();
        writer.WriteString("GroupName", schedule.GroupName);
        if (schedule.KmsKeyArn is { } kms)
        {
            writer.WriteString("KmsKeyArn", kms);
        }

        WriteDate(writer, "LastModificationDate", schedule.LastModificationDate);
        writer.WriteString("Name", schedule.Name);
        writer.WriteString("ScheduleExpression", schedule.ScheduleExpression);
        writer.WriteString("ScheduleExpressionTimezone", schedule.ScheduleExpressionTimezone ?? "UTC");
        if (schedule.StartDate is { } start)
        {
            WriteDate(writer, "StartDate", start);
        }

        writer.WriteString("State", schedule.State);
        var target = schedule.Target;
        writer.WriteStartObject("Target");
        writer.WriteString("Arn", target.Arn);
        if (target.DeadLetterArn is { } dlq)
        {
            writer.WriteStartObject("DeadLetterConfig");
            writer.WriteString("Arn", dlq);
            writer.WriteEndObject();
        }

        if (target.Input is { } input)
        {
            writer.WriteString("Input", input);
        }

        writer.WriteStartObject("RetryPolicy");
        writer.WriteNumber("MaximumEventAgeInSeconds", target.MaximumEventAgeInSeconds ?? ScheduleRequest.MaxEventAgeInSeconds);
        writer.WriteNumber("MaximumRetryAttempts", target.MaximumRetryAttempts ?? ScheduleRequest.MaxRetryAttempts);
        writer.WriteEndObject();
        writer.WriteString("RoleArn", target.RoleArn);
        writer.WriteEndObject();
    }

    private static void WriteGroup(Utf8JsonWriter writer, ScheduleService service, ScheduleGroupRecord group)
    {
        writer.WriteString("Arn", service.GroupArn(group.Name));
        WriteDate(writer, "CreationDate", group.CreationDate);
        WriteDate(writer, "LastModificationDate", group.LastModificationDate);
        writer.WriteString("Name", group.Name);
        writer.WriteString("State", "ACTIVE");
    }

    private static void WriteDate(Utf8JsonWriter writer, string name, DateTimeOffset date) =>
        writer.WriteNumber(name, date.ToUnixTimeMilliseconds() / 1000.0);

    private static string? Query(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    private static async Task<JsonDocument?> ReadBodyAsync(HttpContext context, bool allowEmpty = false)
    {
        var bytes = await RequestBody.ReadAsync(context, MaxRequestBytes).ConfigureAwait(false);
        if (bytes is null)
        {
            await WriteErrorAsync(context, SchedulerError.Validation($"The request body is larger than {MaxRequestBytes} bytes.")).ConfigureAwait(false);
            return null;
        }

        if (bytes.Length == 0 && allowEmpty)
        {
            return JsonDocument.Parse("{}");
        }

        try
        {
            return JsonText.Problem(bytes) is { } problem ? throw new JsonException(problem) : JsonDocument.Parse(bytes);
        }
        catch (JsonException)
        {
            await WriteErrorAsync(context, SchedulerError.Validation("The request body is not valid JSON.")).ConfigureAwait(false);
            return null;
        }
    }

    private static Task WriteAsync<T>(HttpContext context, SchedulerResult<T> result, Action<Utf8JsonWriter, T> write) =>
        result.Error is { } error ? WriteErrorAsync(context, error) : WriteJsonAsync(context, 200, writer => write(writer, result.Value!));

    private static Task WriteEmptyAsync(HttpContext context, SchedulerError? error) =>
        error is not null ? WriteErrorAsync(context, error) : WriteJsonAsync(context, 200, _ => { });

    private static Task WriteErrorAsync(HttpContext context, SchedulerError error)
    {
        context.Response.Headers[LambdaHttp.ErrorTypeHeader] = error.Type;
        return WriteJsonAsync(context, error.StatusCode, writer => writer.WriteString("Message", error.Message));
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> members)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = LambdaHttp.JsonContentType;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        await using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
