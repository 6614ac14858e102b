using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Nimbus.Sandboxes;

/// <summary>
/// Starts sandbox processes from one dedicated, never-ending thread. bwrap's <c>--die-with-parent</c> uses
/// PR_SET_PDEATHSIG, which fires when the parent <em>thread</em> that forked it exits, and thread-pool threads
/// exit when idle: forking from them made warm instances die at random. Forking from a thread that lives as long
/// as the server keeps the guarantee that a killed server takes its sandboxes with it. A child inherits the network
/// namespace of the thread that forks it: to start an instance in its own namespace, this thread enters it around
/// the fork and comes back (two setns calls, no extra process).
/// </summary>
internal static class ProcessLauncher
{
    private static readonly BlockingCollection<(ProcessStartInfo Start, SafeFileHandle? Network, TaskCompletionSource<Process> Started)> Requests = new(boundedCapacity: 256);

    static ProcessLauncher()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "Nimbus sandbox launcher" };
        thread.Start();
    }

    /// <summary>Starts <paramref name="start"/>, in the network namespace <paramref name="network"/> when given.</summary>
    public static Task<Process> StartAsync(ProcessStartInfo start, SafeFileHandle? network = null)
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Requests.Add((start, network, started));
        return started.Task;
    }

    private static void Run()
    {
        SafeFileHandle? host = null;
        foreach (var (start, network, started) in Requests.GetConsumingEnumerable())
        {
            var entered = false;
            try
            {
                if (network is not null)
                {
                    host ??= NetworkNamespace.OpenCurrent();
                    NetworkNamespace.Enter(network);
                    entered = true;
                }

                started.SetResult(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}."));
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                started.SetException(e);
            }
            finally
            {
                if (entered)
                {
                    // Never fails for a namespace this thread came from; if it did, the next start must not run in the
                    // instance's namespace, so the launcher stops here and the server with it (die-with-parent).
                    try
                    {
                        NetworkNamespace.Enter(host!);
                    }
                    catch (IOException e)
                    {
                        Environment.FailFast("The sandbox launcher could not return to the host's network namespace.", e);
                    }
                }
            }
        }
    }
}
