using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Nimbus.IntegrationTests;

/// <summary>
/// An IPv4 address of this machine's that is not a loopback one: what another host would dial, and how a function in
/// an isolated instance network (the default) reaches a server the test runs on this machine (through slirp4netns),
/// as the host's 127.0.0.1 is out of its reach.
/// </summary>
internal static class HostAddress
{
    public static IPAddress NonLoopback()
    {
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(nic => nic.OperationalStatus == OperationalStatus.Up && nic.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
            .Select(unicast => unicast.Address)
            .FirstOrDefault(ip => ip.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(ip));
        Assert.True(address is not null, "This machine should have a non-loopback IPv4 address: functions in isolated networks reach the tests' servers through it.");
        return address!;
    }
}
