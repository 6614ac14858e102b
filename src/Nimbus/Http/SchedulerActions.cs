namespace Nimbus.Http;

/// <summary>
/// The IAM action of every EventBridge Scheduler route (<c>scheduler:&lt;Operation&gt;</c>, as AWS names them) and the
/// resource it acts on: schedules <c>arn:aws:scheduler:&lt;region&gt;:&lt;account&gt;:schedule/&lt;group&gt;/&lt;name&gt;</c>,
/// groups <c>...:schedule-group/&lt;name&gt;</c>, the tag routes the ARN in their path, List* <c>*</c>.
/// </summary>
internal static class SchedulerActions
{
    public const string CreateSchedule = "scheduler:CreateSchedule";
    public const string UpdateSchedule = "scheduler:UpdateSchedule";
    public const string GetSchedule = "scheduler:GetSchedule";
    public const string DeleteSchedule = "scheduler:DeleteSchedule";
    public const string ListSchedules = "scheduler:ListSchedules";
    public const string CreateScheduleGroup = "scheduler:CreateScheduleGroup";
    public const string GetScheduleGroup = "scheduler:GetScheduleGroup";
    public const string DeleteScheduleGroup = "scheduler:DeleteScheduleGroup";
    public const string ListScheduleGroups = "scheduler:ListScheduleGroups";
    public const string TagResource = "scheduler:TagResource";
    public const string UntagResource = "scheduler:UntagResource";
    public const string ListTagsForResource = "scheduler:ListTagsForResource";

    public const string AnyResource = "*";

    public const string TagsPath = "/tags";

    /// <summary>The action of a schedule or group route (the same shapes <see cref="SchedulerApi"/> dispatches on), or null for no operation.</summary>
    public static string? ActionOf(bool isGroups, bool named, string method) => (isGroups, named, method) switch
    {
        (false, true, "POST") => CreateSchedule,
        (false, true, "PUT") => UpdateSchedule,
        (false, true, "GET") => GetSchedule,
        (false, true, "DELETE") => DeleteSchedule,
        (false, false, "GET") => ListSchedules,
        (true, true, "POST") => CreateScheduleGroup,
        (true, true, "GET") => GetScheduleGroup,
        (true, true, "DELETE") => DeleteScheduleGroup,
        (true, false, "GET") => ListScheduleGroups,
        _ => null,
    };

    /// <summary>The action of a tag route (<c>/tags/{ResourceArn}</c>), or null for no operation.</summary>
    public static string? TagActionOf(string method) => method switch
    {
        "POST" => TagResource,
        "DELETE" => UntagResource,
        "GET" => ListTagsForResource,
        _ => null,
    };
}
