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
        var (started, stdout, stderr) = Start(start);
        using var process = started;
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

    /// <summary>
    /// The synchronous form, for a quick probe of this machine outside async code: runs <paramref name="start"/> for at
    /// most <paramref name="limit"/>, then kills its process tree.
    /// </summary>
    public static ProcessOutcome Run(ProcessStartInfo start, TimeSpan limit)
    {
        var (started, stdout, stderr) = Start(start);
        using var process = started;
        var timedOut = !process.WaitForExit(limit);
        if (timedOut)
        {
            process.Kill(entireProcessTree: true);
        }

        // Also waits for the output to be read to its end.
        process.WaitForExit();
        return new ProcessOutcome(process.ExitCode, stdout.Result, stderr.Result, timedOut);
    }

    /// <summary>Starts <paramref name="start"/> with its stdout and stderr redirected here and read to their ends as they come.</summary>
    private static (Process Process, Task<string> Stdout, Task<string> Stderr) Start(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        return (process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    /// <summary>
    /// The stdout (or stderr) of <paramref name="command"/> run with <paramref name="arguments"/> for at most a minute; a
    /// failure to exit with 0 in time fails the test, with <paramref name="hint"/> after the command's own stderr.
    /// </summary>
    public static string Output(string command, IEnumerable<string> arguments, bool stderr = false, string hint = "")
    {
        var start = new ProcessStartInfo(command);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var outcome = Run(start, TimeSpan.FromMinutes(1));
        Assert.True(outcome.ExitCode == 0 && !outcome.TimedOut,
            $"{command} {string.Join(' ', start.ArgumentList)} failed{(outcome.TimedOut ? " (killed after a minute)" : "")}: {outcome.Stderr}{hint}");
        return stderr ? outcome.Stderr : outcome.Stdout;
    }
}
