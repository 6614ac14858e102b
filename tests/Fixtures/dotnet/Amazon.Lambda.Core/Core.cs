using System;
using System.Collections.Generic;
using System.IO;

namespace Amazon.Lambda.Core;

public interface ILambdaContext
{
    string AwsRequestId { get; }
    IClientContext ClientContext { get; }
    string FunctionName { get; }
    string FunctionVersion { get; }
    ICognitoIdentity Identity { get; }
    string InvokedFunctionArn { get; }
    ILambdaLogger Logger { get; }
    string LogGroupName { get; }
    string LogStreamName { get; }
    int MemoryLimitInMB { get; }
    TimeSpan RemainingTime { get; }
    string TraceId => string.Empty;
    string TenantId => string.Empty;
}

public enum LogLevel
{
    Trace,
    Debug,
    Information,
    Warning,
    Error,
    Critical,
}

public interface ILambdaLogger
{
    void Log(string message);
    void LogLine(string message);
    void Log(string level, string message) => LogLine(message);
    void Log(LogLevel level, string message) => Log(level.ToString(), message);
    void LogInformation(string message) => Log(LogLevel.Information, message);
    void LogWarning(string message) => Log(LogLevel.Warning, message);
    void LogError(string message) => Log(LogLevel.Error, message);
    void Log(string level, string message, params object[] args) => Log(level, message);
    void LogInformation(string message, params object[] args) => Log(LogLevel.Information.ToString(), message, args);
    void LogError(Exception exception, string message, params object[] args) => Log(LogLevel.Error.ToString(), message, args);
}

public interface IClientApplication
{
    string AppPackageName { get; }
    string AppTitle { get; }
    string AppVersionCode { get; }
    string AppVersionName { get; }
    string InstallationId { get; }
}

public interface IClientContext
{
    IDictionary<string, string> Environment { get; }
    IClientApplication Client { get; }
    IDictionary<string, string> Custom { get; }
}

public interface ICognitoIdentity
{
    string IdentityId { get; }
    string IdentityPoolId { get; }
}

public interface ILambdaSerializer
{
    T Deserialize<T>(Stream requestStream);
    void Serialize<T>(T response, Stream responseStream);
}

[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Method)]
public sealed class LambdaSerializerAttribute : Attribute
{
    public LambdaSerializerAttribute(Type serializerType) => SerializerType = serializerType;

    public Type SerializerType { get; set; }
}
