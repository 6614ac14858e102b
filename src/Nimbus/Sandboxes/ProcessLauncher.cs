using System.Collections.Concurrent;
using System.Diagnostics;

namespace Nimbus.Sandboxes;

/// <summary>
/// Starts sandbox processes from one dedicated, never-ending thread. bwrap's <c>--die-with-parent</c> uses
/// PR_SET_PDEATHSIG, which fires when the parent <em>thread</em> that forked it exits, and thread-pool threads
/// exit when idle: forking from them made warm instances die at random. Forking from a thread that lives as long
/// as the server keeps the guarantee that a killed server takes its sandboxes with it.
/// </summary>
internal static class ProcessLauncher
{
    private static readonly BlockingCollection<(ProcessStartInfo Start, TaskCompletionSource<Process> Started)> Requests = new(boundedCapacity: 256);

    static ProcessLauncher()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "Nimbus sandbox launcher" };
        thread.Start();
    }

    public static Task<Process> StartAsync(ProcessStartInfo start)
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Requests.Add((start, started));
        return started.Task;
    }

    private static void Run()
    {
        foreach (var (start, started) in Requests.GetConsumingEnumerable())
        {
            try
            {
                started.SetResult(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}."));
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                started.SetException(e);
            }
        }
    }
}
