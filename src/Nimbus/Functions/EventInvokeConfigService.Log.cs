using Microsoft.Extensions.Logging;

namespace Nimbus.Functions;

// Functions/ event ids: 2000-2099 (the ledger is in FunctionService.Log.cs); EventInvokeConfigService uses 2080-2089. Next free id: 2082; 2122 (issue 10's range 2120-2129).
internal sealed partial class EventInvokeConfigService
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2080, EventName = "EventInvokeConfigSet", Level = LogLevel.Information,
            Message = "Set the event invoke config of {FunctionName}:{Qualifier}.")]
        public static partial void EventInvokeConfigSet(ILogger logger, string functionName, string qualifier);

        [LoggerMessage(EventId = 2081, EventName = "EventInvokeConfigDeleted", Level = LogLevel.Information,
            Message = "Deleted the event invoke config of {FunctionName}:{Qualifier}.")]
        public static partial void EventInvokeConfigDeleted(ILogger logger, string functionName, string qualifier);

        [LoggerMessage(EventId = 2122, EventName = "DestinationNotPermitted", Level = LogLevel.Information,
            Message = "Refused the destination {Destination} of {FunctionName}'s event invoke config: {Reason}. Grant it to the execution role and put the config again.")]
        public static partial void DestinationNotPermitted(ILogger logger, string functionName, string destination, string reason);
    }
}
