namespace Nimbus.Runtime.Dotnet;

/// <summary>A function that cannot be loaded as configured; reported as the init error <see cref="ErrorType"/>.</summary>
internal sealed class HandlerException(string errorType, string message) : Exception(message)
{
    public const string Validation = "LambdaValidationException";
    public const string InvalidRuntime = "Runtime.InvalidRuntime";

    public string ErrorType => errorType;
}

/// <summary>A payload that does not convert to the handler's input type, or a result that does not convert to JSON.</summary>
internal sealed class JsonSerializerException(string message, Exception inner) : Exception(message, inner);
