using System.Diagnostics;

namespace Nimbus.IntegrationTests;

/// <summary>What a process run by <see cref="BoundedProcess"/> left: its exit code and output, and whether the deadline killed it.</summary>
internal sealed record ProcessOutcome(int ExitCode, string Stdout, string Stderr, bool TimedOut);

/// <summary>
/// Runs a process to its exit, reading its stdout and stderr as it goes (a full pipe never stalls it); at the deadline
/// kills its whole process tree, so a hung client never outlives the test.
/// </summary>
internal static class BoundedProcess
{
    /// <summary>Runs <paramref name="start"/> (its output redirected here) for at most <paramref name="limit"/>.</summary>
    public static async Task<ProcessOutcome> RunAsync(ProcessStartInfo start, TimeSpan limit)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(limit);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            timedOut = true;
        }

        return new ProcessOutcome(process.ExitCode, await stdout, await stderr, timedOut);
    }
}
