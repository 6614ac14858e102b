using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class LoopbackPeerTests
{
    private static readonly string[] Table =
    [
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
        "   0: 0100007F:11D6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0",
        "   1: 0100007F:A1B2 0100007F:11D6 01 00000000:00000000 00:00000000 00000000 20003        0 2 1 0000000000000000 20 4 30 10 -1",
        "   2: 0100007F:11D6 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1",
    ];

    [Fact]
    public void The_owner_of_the_client_socket_is_found_by_both_ports()
    {
        Assert.Equal(20003, LoopbackPeer.OwnerUid(Table, clientPort: 0xA1B2, serverPort: 0x11D6));
    }

    [Fact]
    public void The_servers_own_end_of_the_connection_is_not_mistaken_for_the_client()
    {
        Assert.Null(LoopbackPeer.OwnerUid(Table, clientPort: 0x11D6, serverPort: 0xA1B2 + 1));
    }

    [Fact]
    public void A_dual_stack_client_is_found_in_the_IPv6_table_by_its_mapped_loopback_address()
    {
        string[] table =
        [
            "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 0000000000000000FFFF00000100007F:A1B2 0000000000000000FFFF00000100007F:11D6 01 00000000:00000000 00:00000000 00000000 20005        0 9 1 0000000000000000 20 4 30 10 -1",
        ];

        Assert.Equal(20005, LoopbackPeer.OwnerUid(table, clientPort: 0xA1B2, serverPort: 0x11D6, "0000000000000000FFFF00000100007F"));
    }

    [Fact]
    public void An_unknown_connection_has_no_owner()
    {
        Assert.Null(LoopbackPeer.OwnerUid(Table, clientPort: 1234, serverPort: 0x11D6));
    }
}
