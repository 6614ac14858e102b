using Microsoft.Extensions.Logging;

namespace Nimbus.Sandboxes;

// Sandboxes/ event ids: 4000-4099 (RuntimeCatalog 4000-4009), and 4280-4289 (RuntimeCatalog's Python). Next free ids: 4002, 4283.
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

        [LoggerMessage(EventId = 4280, EventName = "PythonBoto3", Level = LogLevel.Information,
            Message = "Python functions run on {Executable} (Python {Version}) and import its boto3 {Boto3} (botocore {Botocore}), unless their code or layers bring their own.")]
        public static partial void PythonBoto3(ILogger logger, string executable, string version, string boto3, string botocore);

        [LoggerMessage(EventId = 4281, EventName = "PythonWithoutBoto3", Level = LogLevel.Warning,
            Message = "The Python interpreter {Executable} (Python {Version}) has no boto3: Python functions that import boto3 fail with Runtime.ImportModuleError, where AWS's Python runtimes ship it. Install boto3 for that interpreter, or name another with NIMBUS_PYTHON.")]
        public static partial void PythonWithoutBoto3(ILogger logger, string executable, string version);

        [LoggerMessage(EventId = 4282, EventName = "PythonBoto3TooOld", Level = LogLevel.Warning,
            Message = "The Python interpreter {Executable} has boto3 {Boto3} (botocore {Botocore}), older than botocore 1.31: it ignores AWS_ENDPOINT_URL, so Python functions' SDK calls go to AWS instead of this node. Upgrade boto3 for that interpreter, or name another with NIMBUS_PYTHON.")]
        public static partial void PythonBoto3TooOld(ILogger logger, string executable, string boto3, string botocore);
    }
}
