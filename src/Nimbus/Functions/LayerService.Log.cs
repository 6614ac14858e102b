using Microsoft.Extensions.Logging;

namespace Nimbus.Functions;

// Functions/ event ids: 2000-2099; the ledger ("next free id") is in FunctionService.Log.cs.
internal sealed partial class LayerService
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2009, EventName = "LayerVersionPublished", Level = LogLevel.Information,
            Message = "Published version {Version} of layer {LayerName} ({CodeSize} bytes).")]
        public static partial void LayerVersionPublished(ILogger logger, string layerName, int version, long codeSize);

        [LoggerMessage(EventId = 2010, EventName = "LayerVersionDeleted", Level = LogLevel.Information,
            Message = "Deleted version {Version} of layer {LayerName}.")]
        public static partial void LayerVersionDeleted(ILogger logger, string layerName, int version);
    }
}
