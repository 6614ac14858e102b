using Microsoft.AspNetCore.Http;
using Nimbus.Functions;

namespace Nimbus.Security;

/// <summary>
/// The AWS_IAM check of a function URL: the request must carry a valid SigV4 signature (service <c>lambda</c>), and
/// the signer must be root, or be allowed lambda:InvokeFunctionUrl on the function by an identity policy or by the
/// function's resource policy (AddPermission). Anything else gets the URL's 403 Forbidden.
/// </summary>
internal sealed class FunctionUrlIamGuard(SigV4Authenticator authenticator, IAuthorizer authorizer, FunctionPolicyService policies, Microsoft.Extensions.Options.IOptions<NimbusOptions> options)
{
    public const string Action = "lambda:InvokeFunctionUrl";

    public async Task<bool> AllowsAsync(HttpContext context, string functionName, string qualifier)
    {
        var (failure, _, _) = await authenticator.AuthenticateAsync(context).ConfigureAwait(false);
        if (failure is not null || SigV4Context.Of(context) is not { } auth)
        {
            return false;
        }

        var arn = $"arn:aws:lambda:{options.Value.Region}:{options.Value.AccountId}:function:{functionName}";
        var resourceQualifier = qualifier == FunctionRecord.Latest ? "" : qualifier;
        var resource = resourceQualifier.Length == 0 ? arn : arn + ":" + resourceQualifier;
        var request = AuthorizationContext.Of(context, options.Value.AccountId);
        var identity = authorizer.Authorize(auth.Principal, Action, resource, request);
        if (identity.Allowed)
        {
            return true;
        }

        return await policies.AllowsAsync(functionName, resourceQualifier, Action, auth.Principal.Arn, sourceArn: null, FunctionUrlValues.AuthIam, context.RequestAborted, auth.Principal, request).ConfigureAwait(false);
    }
}
