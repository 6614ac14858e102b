using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class InstanceExtensionsTests
{
    private const string Nonce = "0123456789abcdef0123456789abcdef";

    [Fact]
    public void Only_this_instances_exit_marker_is_taken_for_an_extension_exit_and_a_signal_is_worded_as_Lambda_words_it()
    {
        var extensions = new InstanceExtensions(["watcher"], Nonce);

        Assert.True(extensions.TryParseExit($"nimbus-extension-exited {Nonce} 3 watcher", out var name, out var ended));
        Assert.Equal(("watcher", "exit code 3"), (name, ended));
        Assert.True(extensions.TryParseExit($"nimbus-extension-exited {Nonce} 137 watcher", out _, out var killed));
        Assert.Equal("signal: killed", killed);
        Assert.False(extensions.TryParseExit("nimbus-extension-exited ffffffffffffffffffffffffffffffff 3 watcher", out _, out _));
        Assert.False(extensions.TryParseExit($"watcher says nimbus-extension-exited {Nonce} 3 watcher", out _, out _));
        Assert.False(extensions.TryParseExit($"nimbus-extension-exited {Nonce} x watcher", out _, out _));
    }

    [Fact]
    public async Task An_exit_before_the_shutdown_phase_is_a_crash_and_one_after_SHUTDOWN_ends_that_extensions_shutdown()
    {
        var extensions = new InstanceExtensions(["crasher", "watcher"], Nonce);
        var (crasher, _) = extensions.Register("crasher", invoke: true, shutdown: false);
        var (watcher, _) = extensions.Register("watcher", invoke: true, shutdown: true);
        var crasherNext = extensions.NextAsync(crasher!, CancellationToken.None).AsTask();
        var watcherNext = extensions.NextAsync(watcher!, CancellationToken.None);
        Assert.True(extensions.InitDone.IsCompleted);

        Assert.True(extensions.Dispatch("{\"eventType\":\"INVOKE\"}"u8.ToArray()));
        Assert.False(extensions.IsIdle);
        await watcherNext;
        await crasherNext;
        Assert.True(extensions.OnExited("crasher", "exit code 3"));
        Assert.Equal("exit code 3", await extensions.Crashed);

        // The watcher still works on its INVOKE: SHUTDOWN queues behind it, and its exit ends the phase.
        var done = extensions.DispatchShutdown("{\"eventType\":\"SHUTDOWN\"}"u8.ToArray());
        Assert.NotNull(done);
        Assert.False(done.IsCompleted);
        Assert.False(extensions.OnExited("watcher", "exit code 0"));
        Assert.True(done.IsCompleted);
    }

    [Fact]
    public async Task An_extension_that_asks_for_its_next_event_after_SHUTDOWN_has_finished_its_shutdown()
    {
        var extensions = new InstanceExtensions(["watcher"], Nonce);
        var (watcher, _) = extensions.Register("watcher", invoke: false, shutdown: true);
        var first = extensions.NextAsync(watcher!, CancellationToken.None);
        var body = "{\"eventType\":\"SHUTDOWN\"}"u8.ToArray();

        var done = extensions.DispatchShutdown(body);

        Assert.Same(body, await first);
        Assert.False(done!.IsCompleted);
        var second = extensions.NextAsync(watcher!, CancellationToken.None).AsTask();
        Assert.True(done.IsCompleted);
        Assert.False(second.IsCompleted);
        Assert.False(extensions.Crashed.IsCompleted);
    }
}
