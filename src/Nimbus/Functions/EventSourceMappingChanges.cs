using System.Threading.Channels;

namespace Nimbus.Functions;

/// <summary>
/// The UUIDs of mappings whose stored state changed, in order, from the control plane to the pollers. A class of its
/// own (no dependencies) so the control plane and the function lifecycle can signal without depending on the pollers.
/// </summary>
internal sealed class EventSourceMappingChanges : IEventSourceMappingChanges
{
    /// <summary>More pending changes than this make writers wait in the background; each is one UUID.</summary>
    public const int Capacity = 10_000;

    private readonly Channel<string> _changes = Channel.CreateBounded<string>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    public ChannelReader<string> Reader => _changes.Reader;

    public void OnMappingChanged(string uuid)
    {
        if (!_changes.Writer.TryWrite(uuid))
        {
            _ = _changes.Writer.WriteAsync(uuid).AsTask();
        }
    }
}
