using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids: 4000-4099 (RuntimeCatalog 4000-4009), 4280-4289 (RuntimeCatalog's Python) and 8270-8279 (one
// interpreter per runtime identifier), 9461-9469 (the shared boto3's bytecode), 9550-9559 (the runtime client's bytecode).
// Next free ids: 4002, 4283, 8275, 9463, 9551.
internal sealed partial class RuntimeCatalog
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 4000, EventName = "InterpreterResolved", Level = LogLevel.Information,
            Message = "Runtime interpreter {Command} resolved to {Executable} (version {Version}).")]
        public static partial void InterpreterResolved(ILogger logger, string command, string executable, string version);

        [LoggerMessage(EventId = 4001, EventName = "InterpreterMissing", Level = LogLevel.Warning,
            Message = "Runtime interpreter {Command} is not usable ({Reason}); functions using it cannot be created until it is installed.")]
        public static partial void InterpreterMissing(ILogger logger, string command, string reason);

        [LoggerMessage(EventId = 9550, EventName = "PythonClientNotCompiled", Level = LogLevel.Information,
            Message = "Could not write the Python runtime client's bytecode for {Executable} into {Directory}: every Python runtime start compiles the client (several milliseconds of CPU). Make that directory writable by the server.")]
        public static partial void PythonClientNotCompiled(ILogger logger, string executable, string directory);

        [LoggerMessage(EventId = 4280, EventName = "PythonBoto3", Level = LogLevel.Information,
            Message = "Python functions run on {Executable} (Python {Version}) and import its boto3 {Boto3} (botocore {Botocore}), unless their code or layers bring their own.")]
        public static partial void PythonBoto3(ILogger logger, string executable, string version, string boto3, string botocore);

        [LoggerMessage(EventId = 4281, EventName = "PythonWithoutBoto3", Level = LogLevel.Warning,
            Message = "The Python interpreter {Executable} (Python {Version}) has no boto3: Python functions that import boto3 fail with Runtime.ImportModuleError, where AWS's Python runtimes ship it. Install boto3 for that interpreter, or name another with NIMBUS_PYTHON.")]
        public static partial void PythonWithoutBoto3(ILogger logger, string executable, string version);

        [LoggerMessage(EventId = 4282, EventName = "PythonBoto3TooOld", Level = LogLevel.Warning,
            Message = "The Python interpreter {Executable} has boto3 {Boto3} (botocore {Botocore}), older than botocore 1.31: it ignores AWS_ENDPOINT_URL, so Python functions' SDK calls go to AWS instead of this node. Upgrade boto3 for that interpreter, or name another with NIMBUS_PYTHON.")]
        public static partial void PythonBoto3TooOld(ILogger logger, string executable, string boto3, string botocore);

        [LoggerMessage(EventId = 8270, EventName = "RuntimeInterpreter", Level = LogLevel.Information,
            Message = "Runtime {Runtime} runs on {Executable} (version {Version}).")]
        public static partial void RuntimeInterpreter(ILogger logger, string runtime, string executable, string version);

        [LoggerMessage(EventId = 8271, EventName = "RuntimeOnOtherVersion", Level = LogLevel.Warning,
            Message = "Runtime {Runtime} has no interpreter of its version on this node: its functions run on {Executable} (version {Version}) instead, and code that needs {Runtime} may fail; each of their cold starts says so in the function's log. Install {Install}, or name one in NIMBUS_RUNTIME_INTERPRETERS, and restart Nimbus.")]
        public static partial void RuntimeOnOtherVersion(ILogger logger, string runtime, string executable, string version, string install);

        [LoggerMessage(EventId = 9461, EventName = "PythonSdkCompiling", Level = LogLevel.Information,
            Message = "Compiling the shared boto3 ({Packages} packages) for {Executable} (Python {Version}) in the background, so its functions' cold starts do not.")]
        public static partial void PythonSdkCompiling(ILogger logger, string executable, string version, int packages);

        [LoggerMessage(EventId = 9462, EventName = "PythonSdkCompiled", Level = LogLevel.Information,
            Message = "The shared boto3 for {Executable} (Python {Version}) compiled in {ElapsedMs} ms (complete: {Complete}; where not, its functions compile what is missing at import).")]
        public static partial void PythonSdkCompiled(ILogger logger, string executable, string version, long elapsedMs, bool complete);

        [LoggerMessage(EventId = 8272, EventName = "ConfiguredInterpreterUnusable", Level = LogLevel.Warning,
            Message = "NIMBUS_RUNTIME_INTERPRETERS names {Command} for {Runtime}, but it does not run; {Runtime} runs on what this node has instead.")]
        public static partial void ConfiguredInterpreterUnusable(ILogger logger, string runtime, string command);

        [LoggerMessage(EventId = 8273, EventName = "PythonSharedSdk", Level = LogLevel.Information,
            Message = "The Python interpreter {Executable} (Python {Version}) has no boto3 of its own: its functions import boto3 {Boto3} (botocore {Botocore}) of {Source}, linked read-only from {Directory}, unless their code or layers bring their own.")]
        public static partial void PythonSharedSdk(ILogger logger, string executable, string version, string boto3, string botocore, string source, string directory);

        [LoggerMessage(EventId = 8274, EventName = "PythonSdkNotShared", Level = LogLevel.Warning,
            Message = "The boto3 of {Source} could not be shared with Python interpreters without one through {Directory} ({Reason}): their functions cannot import boto3.")]
        public static partial void PythonSdkNotShared(ILogger logger, string source, string directory, string reason);
    }
}
