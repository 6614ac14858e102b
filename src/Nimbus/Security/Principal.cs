namespace Nimbus.Security;

/// <summary>What kind of identity signed a request.</summary>
internal enum PrincipalKind
{
    Root,
    User,
    Role,
}

/// <summary>
/// The authenticated caller of a request: its ARN (what policies and error messages name), the access key it signed
/// with, and for an assumed role (a function's execution credentials) the role's name.
/// </summary>
internal sealed record Principal(PrincipalKind Kind, string Name, string Arn, string AccessKeyId)
{
    public bool IsRoot => Kind == PrincipalKind.Root;

    /// <summary>Set when the credentials were issued for a Cognito identity: Invoke passes it to the function.</summary>
    public CognitoIdentity? Cognito { get; init; }
}
