namespace Nimbus.IntegrationTests;

/// <summary>Identifiers the server answers with by default (region us-east-1, account 000000000000).</summary>
internal static class Aws
{
    public const string Region = "us-east-1";
    public const string AccountId = "000000000000";
    public const string Role = "arn:aws:iam::000000000000:role/lambda-role";

    public static string FunctionArn(string name) => $"arn:aws:lambda:{Region}:{AccountId}:function:{name}";

    public static string FunctionNotFound(string name) => $"Function not found: {FunctionArn(name)}";
}
