namespace Nimbus.Functions;

/// <summary>
/// An expected failure of a Lambda API call, in AWS's terms: the exception name clients switch on, the HTTP
/// status and the message. Whether the body says <c>Message</c> or <c>message</c> differs per type on AWS and
/// is copied exactly, because SDKs read one or the other.
/// </summary>
internal sealed record LambdaError(string Type, int StatusCode, string Message, bool CapitalMessageKey = false)
{
    public const string ResourceNotFound = "ResourceNotFoundException";
    public const string ResourceConflict = "ResourceConflictException";
    public const string InvalidParameterValue = "InvalidParameterValueException";
    public const string Validation = "ValidationException";
    public const string RequestTooLarge = "RequestTooLargeException";
    public const string RequestEntityTooLarge = "RequestEntityTooLargeException";
    public const string InvalidRequestContent = "InvalidRequestContentException";
    public const string PreconditionFailed = "PreconditionFailedException";
    public const string TooManyRequests = "TooManyRequestsException";
    public const string UnknownOperation = "UnknownOperationException";
    public const string Service = "ServiceException";
    public const string ProvisionedConcurrencyConfigNotFound = "ProvisionedConcurrencyConfigNotFoundException";

    /// <summary>Throttle reasons (AWS's <c>Reason</c> field): the account's (unreserved) concurrency is in use.</summary>
    public const string ConcurrentInvocationLimitExceeded = "ConcurrentInvocationLimitExceeded";

    /// <summary>The function's reserved concurrency is in use, or is 0.</summary>
    public const string ReservedFunctionConcurrentInvocationLimitExceeded = "ReservedFunctionConcurrentInvocationLimitExceeded";

    /// <summary>Set on throttles: AWS's <c>Reason</c> field.</summary>
    public string? Reason { get; init; }

    public static LambdaError FunctionNotFound(string functionArn) =>
        new(ResourceNotFound, 404, $"Function not found: {functionArn}", CapitalMessageKey: true);

    public static LambdaError FunctionExists(string name) =>
        new(ResourceConflict, 409, $"Function already exist: {name}");

    public static LambdaError InvalidParameter(string message) => new(InvalidParameterValue, 400, message);

    public static LambdaError NoProvisionedConcurrencyConfig() =>
        new(ProvisionedConcurrencyConfigNotFound, 404, "No Provisioned Concurrency Config found for this function");

    /// <summary>A model constraint violation, worded as AWS words it.</summary>
    public static LambdaError ValidationFailed(string value, string member, string constraint) =>
        new(Validation, 400, $"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}");

    public static LambdaError InvokePayloadTooLarge() =>
        new(RequestTooLarge, 413, $"Request must be smaller than {LambdaLimits.MaxSyncPayloadBytes} bytes for the InvokeFunction operation");

    public static LambdaError RequestBodyTooLarge(string operation, long limit) =>
        new(RequestEntityTooLarge, 413, $"Request must be smaller than {limit} bytes for the {operation} operation");

    public static LambdaError BadRequestContent(string detail) =>
        new(InvalidRequestContent, 400, $"Could not parse request body into json: {detail}");

    public static LambdaError RevisionMismatch() =>
        new(PreconditionFailed, 412, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id");

    public static LambdaError Throttled(string reason, string message) =>
        new(TooManyRequests, 429, message) { Reason = reason };

    public static LambdaError AccountConcurrencyExceeded() => Throttled(ConcurrentInvocationLimitExceeded, "Rate Exceeded.");

    public static LambdaError ReservedConcurrencyExceeded() => Throttled(ReservedFunctionConcurrentInvocationLimitExceeded, "Rate Exceeded.");

    /// <summary>PutFunctionConcurrency would leave the account fewer unreserved executions than it must keep.</summary>
    public static LambdaError UnreservedConcurrencyBelowMinimum(int minimum) =>
        InvalidParameter($"Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{minimum}].");

    public static LambdaError NoSuchOperation(string method, string path) =>
        new(UnknownOperation, 404, $"No Lambda operation matches {method} {path}.", CapitalMessageKey: true);

    /// <summary>The node is draining for a graceful shutdown; SDKs retry 5xx answers.</summary>
    public static LambdaError ShuttingDown() =>
        new(Service, 503, "This Nimbus node is shutting down and takes no new invocations; retry in a moment.", CapitalMessageKey: true);
}
